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
from sqlalchemy.orm import Session, aliased

from carpool.clock import Clock, utcnow
from carpool.errors import InvalidInput
from carpool.models import Resident, UserAccount, VoiceCall, VoiceMessage
from carpool.notify.privacy import mask
from carpool.services import audit
from carpool.services.desk import claim

#: Days a recording can be listened to; then it is forgotten here (docs/privacy.md).
RECORDING_RETENTION_DAYS = 90
SHOWN = 50


@dataclass(frozen=True, slots=True)
class VoiceMessageToHandle:
    message_id: int
    received_at: datetime
    duration_s: int
    audible: bool  # False once the recording is forgotten (retention)
    resident_id: int | None
    who: str
    phone: str | None  # the resident's number, once someone said they would call back
    callback_by: str | None
    callback_at: datetime | None


def waiting(session: Session, association_id: int, *, limit: int = SHOWN) -> list[VoiceMessageToHandle]:
    """The association's voice messages not handled yet, newest first (one query)."""
    caller = aliased(UserAccount)
    rows: Sequence[Any] = session.execute(
        sa.select(
            VoiceMessage.id,
            VoiceMessage.created_at,
            VoiceMessage.duration_s,
            VoiceMessage.recording_sid,
            VoiceMessage.from_phone,
            VoiceMessage.callback_at,
            Resident.id,
            Resident.first_name,
            Resident.last_name,
            Resident.phone,
            caller.email,
            VoiceMessage.forgotten_at,
        )
        .outerjoin(Resident, Resident.id == VoiceMessage.resident_id)
        .outerjoin(caller, caller.id == VoiceMessage.callback_by_id)
        .where(VoiceMessage.association_id == association_id, VoiceMessage.handled_at.is_(None))
        .order_by(VoiceMessage.created_at.desc(), VoiceMessage.id.desc())
        .limit(limit)
    ).all()
    return [
        VoiceMessageToHandle(
            message_id=row[0],
            received_at=row[1],
            duration_s=row[2],
            audible=row[3] is not None and row[11] is None,
            resident_id=row[6],
            who=f"{row[7]} {row[8]}".strip() if row[6] else f"numéro inconnu ({mask(row[4])})",
            phone=row[9] if row[6] and row[5] else None,
            callback_by=row[10],
            callback_at=row[5],
        )
        for row in rows
    ]


def mark_handled(session: Session, message: VoiceMessage, *, user_id: int, clock: Clock) -> bool:
    """Off the list; False when it already was (a second click changes nothing)."""
    done = _claim(session, message, handled_at=clock.now(), handled_by_id=user_id)
    if done:
        audit.record(
            session,
            f"user:{user_id}",
            "voice.handled",
            subject=message,
            association_id=message.association_id,
        )
    return done


def plan_callback(session: Session, message: VoiceMessage, *, user_id: int, clock: Clock) -> bool:
    """This coordinator calls the resident back; False when someone already said so."""
    if message.resident_id is None:
        raise InvalidInput.on(
            "", "Ce numéro est inconnu et n'est pas affiché : écoutez le message, puis marquez-le comme fait."
        )
    planned = _claim(
        session, message, VoiceMessage.callback_at.is_(None), callback_at=clock.now(), callback_by_id=user_id
    )
    if planned:
        audit.record(
            session,
            f"user:{user_id}",
            "voice.callback_planned",
            subject=message,
            association_id=message.association_id,
        )
    return planned


def _claim(
    session: Session, message: VoiceMessage, *conditions: sa.ColumnElement[bool], **values: object
) -> bool:
    return claim(session, VoiceMessage, message, VoiceMessage.handled_at.is_(None), *conditions, **values)


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
