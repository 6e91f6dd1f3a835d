"""Queue SMS and calls in the caller's transaction; the dispatcher sends them after the commit.

An SMS is a side effect no rollback can undo, so services never send: they
``enqueue`` a row next to the change that causes it. If the transaction rolls
back, the SMS is never sent; if it commits, the dispatcher sends it exactly once.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.db import dialect_of, insert_or_ignore
from carpool.models.messages import OutboundMessage, OutboundStatus, SmsOptOut
from carpool.models.people import Resident


def enqueue(
    session: Session,
    key: str,
    to_phone: str,
    body: str,
    *,
    association_id: int | None = None,
    resident_id: int | None = None,
    not_before: datetime | None = None,
    respect_opt_out: bool = True,
    channel: str = "sms",
    trip_at: datetime | None = None,
) -> OutboundMessage | None:
    """Add a pending SMS (or call: ``channel="voice"``) named by ``key``; the same key again changes nothing.

    Returns the row (the existing one for a repeated key) or ``None`` when the
    number belongs to a resident who opted out (STOP) and ``respect_opt_out`` is
    true; pass ``False`` only for messages the law still allows, such as the
    confirmation of the opt-out itself. ``resident_id`` names the resident the SMS is
    for: their data page, export and erasure find it by that, never by the number, which
    a driver may share. Never sends and never commits.
    """
    if not_before is not None and not_before.tzinfo is None:
        raise ValueError("not_before must be an aware datetime")
    if respect_opt_out and is_opted_out(session, to_phone):
        return _by_key(session, key)  # queued before the STOP: the caller sees it as it was
    # One statement: a key already queued, by us or by a concurrent transaction that commits
    # first, leaves the table as it was (the unique index decides) and we return that row.
    values = {
        "idempotency_key": key,
        "association_id": association_id,
        "resident_id": resident_id,
        "to_phone": to_phone,
        "body": body,
        "status": OutboundStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": not_before,
        "channel": channel,
        "trip_at": trip_at,
    }
    statement = insert_or_ignore(dialect_of(session), OutboundMessage, "idempotency_key")
    row = session.scalars(statement.values(values).returning(OutboundMessage)).one_or_none()
    return row if row is not None else _by_key(session, key)


def enqueue_notice(
    session: Session,
    key: str,
    resident: Resident,
    body: str,
    *,
    association_id: int | None,
    not_before: datetime | None = None,
    trip_at: datetime | None = None,
) -> OutboundMessage | None:
    """Queue a notice for ``resident`` on their channels: an SMS, a call, or both.

    A call-only resident's row keeps ``key`` (so whoever checks that key sees the notice
    queued); with both channels the call goes under ``<key>:call``. The dispatcher rings
    only from 09:00 to 19:00 Paris time unless the trip (``trip_at``) is within 24 h.
    STOP concerns SMS: it does not silence calls. Returns the SMS row, or the call row for call-only.
    """
    sms = None
    if resident.by_sms:
        sms = enqueue(
            session,
            key,
            resident.phone,
            body,
            association_id=association_id,
            resident_id=resident.id,
            not_before=not_before,
        )
    if not resident.by_call:
        return sms
    call = enqueue(
        session,
        f"{key}:call" if resident.by_sms else key,
        resident.phone,
        body,
        association_id=association_id,
        resident_id=resident.id,
        not_before=not_before,
        respect_opt_out=False,
        channel="voice",
        trip_at=trip_at,
    )
    return sms if resident.by_sms else call


def is_opted_out(session: Session, phone: str) -> bool:
    """True when this number answered STOP: a resident (on their row) or anyone else (``sms_opt_out``)."""
    resident = sa.select(Resident.id).where(Resident.phone == phone, Resident.sms_opted_out_at.is_not(None))
    other = sa.select(SmsOptOut.id).where(SmsOptOut.phone == phone)
    return bool(session.execute(sa.select(sa.or_(resident.exists(), other.exists()))).scalar())


def opt_out_number(session: Session, phone: str, now: datetime) -> bool:
    """Record a STOP from a number that is not a resident's; False when it was already recorded."""
    statement = insert_or_ignore(dialect_of(session), SmsOptOut, "phone")
    row = session.execute(statement.values(phone=phone, opted_out_at=now).returning(SmsOptOut.id)).scalar()
    return row is not None


def opt_in_number(session: Session, phone: str) -> bool:
    """Forget a non-resident's STOP (they sent START); False when there was none."""
    deleted = session.execute(sa.delete(SmsOptOut).where(SmsOptOut.phone == phone).returning(SmsOptOut.id))
    return deleted.first() is not None


def _by_key(session: Session, key: str) -> OutboundMessage | None:
    return session.execute(
        sa.select(OutboundMessage).where(OutboundMessage.idempotency_key == key)
    ).scalar_one_or_none()
