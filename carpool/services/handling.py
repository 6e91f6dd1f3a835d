"""The life of what waits for a coordinator: a text or a voice message that needs a person.

Both are listed until one coordinator marks them done; "call back" notes who phones the
resident, whose number is shown from then on (an unknown caller's never is, so nobody can
promise to call it). Each move is one guarded UPDATE, so that of two coordinators clicking
at once exactly one changes the row, and each change is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypedDict

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from carpool.clock import Clock
from carpool.errors import InvalidInput
from carpool.models import InboundMessage, Resident, UserAccount, VoiceMessage
from carpool.notify.privacy import mask
from carpool.services import audit

#: What a coordinator can handle: a text, or a voice message.
ToHandle = InboundMessage | VoiceMessage


def mark_handled(
    session: Session,
    row: ToHandle,
    *,
    waiting: Sequence[sa.ColumnElement[bool]],
    action: str,
    user_id: int,
    clock: Clock,
) -> bool:
    """Off the list (``waiting``: still on it); False when it was not (a second click changes nothing)."""
    done = claim(session, type(row), row, *waiting, handled_at=clock.now(), handled_by_id=user_id)
    if done:
        _audit(session, row, action, user_id)
    return done


def plan_callback(
    session: Session,
    row: ToHandle,
    *,
    waiting: Sequence[sa.ColumnElement[bool]],
    action: str,
    unknown_caller: str,
    user_id: int,
    clock: Clock,
) -> bool:
    """This coordinator phones the resident back; False when someone already said so or it is done.

    ``unknown_caller``: the refusal when the number is unknown (it is never shown).
    """
    if row.resident_id is None:
        raise InvalidInput.on("", unknown_caller)
    model = type(row)
    planned = claim(
        session,
        model,
        row,
        *waiting,
        model.callback_at.is_(None),
        callback_at=clock.now(),
        callback_by_id=user_id,
    )
    if planned:
        _audit(session, row, action, user_id)
    return planned


def claim(
    session: Session, model: Any, row: Any, *conditions: sa.ColumnElement[bool], **values: object
) -> bool:
    """One guarded UPDATE of ``row``: of two coordinators clicking at once, exactly one changes it."""
    changed = session.execute(
        sa.update(model)
        .where(model.id == row.id, *conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.expire(row)
    return bool(changed.rowcount)  # type: ignore[attr-defined]


def _audit(session: Session, row: ToHandle, action: str, user_id: int) -> None:
    audit.record(session, f"user:{user_id}", action, subject=row, association_id=row.association_id)


class Caller(TypedDict):
    """Who a listed row is from and who calls back, as the coordinators' list shows it."""

    resident_id: int | None
    who: str
    phone: str | None  # the resident's number, once someone said they would call back
    callback_by: str | None
    callback_at: datetime | None


def listing(model: type[ToHandle], *columns: Any) -> sa.Select[Any]:
    """``model``'s ``columns``, then the ``CALLER_COLUMNS`` that ``caller_of`` reads (two outer joins)."""
    callback_by = aliased(UserAccount)
    resident = (Resident.id, Resident.first_name, Resident.last_name, Resident.phone)
    return (
        sa.select(*columns, model.from_phone, model.callback_at, *resident, callback_by.email)
        .outerjoin(Resident, Resident.id == model.resident_id)
        .outerjoin(callback_by, callback_by.id == model.callback_by_id)
    )


#: The columns ``listing`` adds after the caller's own.
CALLER_COLUMNS = 7


def caller_of(row: Sequence[Any]) -> Caller:
    """The last ``CALLER_COLUMNS`` of a ``listing`` row; an unknown caller only by their masked number."""
    from_phone, callback_at, resident_id, first_name, last_name, phone, callback_by = row[-CALLER_COLUMNS:]
    return Caller(
        resident_id=resident_id,
        who=f"{first_name} {last_name}".strip() if resident_id else f"numéro inconnu ({mask(from_phone)})",
        phone=phone if resident_id and callback_at else None,
        callback_by=callback_by,
        callback_at=callback_at,
    )
