"""Voice messages left on the association's line, as the coordinators handle them.

Listed on their first page ("À traiter") until one of them marks it done; "Rappeler"
notes who calls back and shows the resident's number. An unknown caller's number is
shown masked only. After the retention period the recording is forgotten (the row stays
for the counts): see ``purge_recordings``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import Clock, utcnow
from carpool.models import VoiceCall, VoiceMessage
from carpool.notify.recordings import is_demo_recording
from carpool.services import handling

#: Days a recording can be listened to; then it is forgotten here (docs/privacy.md).
RECORDING_RETENTION_DAYS = 90
SHOWN = 50


@dataclass(frozen=True, slots=True)
class VoiceMessageToHandle:
    message_id: int
    received_at: datetime
    duration_s: int
    audible: bool  # False once the recording is forgotten (retention)
    demo: bool  # a demo message: no audio anywhere, the player says so
    resident_id: int | None
    who: str
    phone: str | None  # the resident's number, once someone said they would call back
    callback_by: str | None
    callback_at: datetime | None


def waiting(session: Session, association_id: int, *, limit: int = SHOWN) -> list[VoiceMessageToHandle]:
    """The association's voice messages not handled yet, newest first (one query)."""
    rows: Sequence[Any] = session.execute(
        handling.listing(
            VoiceMessage,
            VoiceMessage.id,
            VoiceMessage.created_at,
            VoiceMessage.duration_s,
            VoiceMessage.recording_sid,
            VoiceMessage.forgotten_at,
        )
        .where(VoiceMessage.association_id == association_id, *_WAITING)
        .order_by(VoiceMessage.created_at.desc(), VoiceMessage.id.desc())
        .limit(limit)
    ).all()
    return [
        VoiceMessageToHandle(
            message_id=row[0],
            received_at=row[1],
            duration_s=row[2],
            audible=row[3] is not None and row[4] is None,
            demo=row[3] is not None and is_demo_recording(row[3]),
            **handling.caller_of(row),
        )
        for row in rows
    ]


def mark_handled(session: Session, message: VoiceMessage, *, user_id: int, clock: Clock) -> bool:
    """Off the list; False when it already was (a second click changes nothing)."""
    return handling.mark_handled(
        session, message, waiting=_WAITING, action="voice.handled", user_id=user_id, clock=clock
    )


def plan_callback(session: Session, message: VoiceMessage, *, user_id: int, clock: Clock) -> bool:
    """This coordinator calls the resident back; False when someone already said so."""
    return handling.plan_callback(
        session,
        message,
        waiting=_WAITING,
        action="voice.callback_planned",
        unknown_caller="Ce numéro est inconnu et n'est pas affiché : "
        "écoutez le message, puis marquez-le comme fait.",
        user_id=user_id,
        clock=clock,
    )


#: Still on the coordinators' list.
_WAITING = (VoiceMessage.handled_at.is_(None),)


def purge_recordings(session: Session, now: datetime) -> int:
    """Forget the voice messages and callers' numbers older than the retention period; calls go too.

    Returns how many voice messages were forgotten now (they can no longer be played); the
    recordings themselves are deleted at Twilio by ``delete_forgotten``.
    """
    cutoff = now - timedelta(days=RECORDING_RETENTION_DAYS)
    result = session.execute(
        sa.update(VoiceMessage)
        .where(VoiceMessage.created_at < cutoff, VoiceMessage.forgotten_at.is_(None))
        .values(forgotten_at=now, from_phone="")
        .execution_options(synchronize_session=False)
    )
    session.execute(
        sa.delete(VoiceCall).where(VoiceCall.created_at < cutoff).execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def forget_caller(session: Session, resident_id: int, anonymous: str) -> None:
    """An erased or anonymised resident: their voice messages can no longer be played nor traced."""
    session.execute(
        sa.update(VoiceMessage)
        .where(VoiceMessage.resident_id == resident_id)
        .values(forgotten_at=sa.func.coalesce(VoiceMessage.forgotten_at, utcnow()), from_phone=anonymous[:16])
        .execution_options(synchronize_session=False)
    )
    session.execute(
        sa.update(VoiceCall)
        .where(VoiceCall.resident_id == resident_id)
        .values(from_phone=anonymous[:16])
        .execution_options(synchronize_session=False)
    )


def recordings_to_delete(session: Session) -> list[tuple[int, str]]:
    """(voice message id, RecordingSid) of the forgotten messages whose audio Twilio still holds."""
    rows = session.execute(
        sa.select(VoiceMessage.id, VoiceMessage.recording_sid).where(
            VoiceMessage.forgotten_at.is_not(None), VoiceMessage.recording_sid.is_not(None)
        )
    ).all()
    return [(int(message_id), str(sid)) for message_id, sid in rows]


def delete_forgotten(
    connection: sa.Connection, recordings: list[tuple[int, str]], delete: Callable[[str], bool]
) -> tuple[int, int]:
    """Delete these recordings at Twilio (``delete``: True once gone) and forget their SIDs.

    Runs after the retention job's commit (never in a dry run, which rolls back): a recording
    Twilio could not delete keeps its SID and is tried again at the next run. Returns (deleted, failed).
    """
    gone = [message_id for message_id, sid in recordings if delete(sid)]
    if gone:
        connection.execute(
            sa.update(VoiceMessage).where(VoiceMessage.id.in_(gone)).values(recording_sid=None)
        )
    return len(gone), len(recordings) - len(gone)
