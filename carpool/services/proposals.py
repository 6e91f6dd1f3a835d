"""Options sent to residents without their asking: their series' occurrences, the nightly re-optimisation.

A resident who texts a request gets options at once (sms_inbound). Two kinds of
open requests get no such text: the occurrences a series materialises at night,
and requests a joint (batch) matching could serve better than one by one. Both
are proposed here with the very SMS and conversation a texted request gets, so the
resident's OUI books through ``booking_flow`` as usual: seats are taken then, by
the guarded UPDATE of ``bookings.take_seats``, never here. A seat another
resident took meanwhile makes the OUI answer "option_gone"; it is never booked twice.

Each proposal is an outbox row under a unique key (``request:<id>:series-proposal``,
``request:<id>:reoptimised``): a job run twice, or after a crash, proposes once.
A resident in the middle of a conversation (choosing, asking) is not interrupted:
their request waits for the next run. Texts queued at night leave at 08:00.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import Clock
from carpool.models import (
    SEAT_HOLDING,
    AppointmentSeries,
    ConversationState,
    Match,
    OutboundMessage,
    Request,
    RequestStatus,
    Resident,
    SeriesState,
)
from carpool.notify.compose import render
from carpool.notify.outbox import enqueue
from carpool.services import audit, matching, reminders, sms_inbound

SYSTEM = "system"


def offer_by_sms(
    session: Session,
    request: Request,
    options: Sequence[matching.RoundTripOption],
    *,
    key: str,
    now: datetime,
    why: str,
) -> bool:
    """Send the resident these options as the SMS conversation would; False when not sent now.

    Not sent: the resident said STOP, was erased, or is in the middle of a conversation
    (their answer to it comes first), or ``key`` was used already.
    """
    resident = session.get_one(Resident, request.resident_id)
    if resident.sms_opted_out or resident.erased_at is not None or _sent(session, key):
        return False
    conversation = sms_inbound.conversation_of(session, resident, now)
    if conversation.state is not ConversationState.IDLE:
        return False
    conversation.updated_at, conversation.unknown_replies = now, 0
    template, context = sms_inbound.present_fitting(session, conversation, request, options)
    enqueue(
        session,
        key,
        resident.phone,
        render(template, **context),
        association_id=request.association_id,
        resident_id=resident.id,
        not_before=reminders.after_quiet_hours(now),
    )
    audit.record(
        session,
        SYSTEM,
        "request.options_sent",
        subject=request,
        association_id=request.association_id,
        why=why,
        options=len(conversation.options),
    )
    return True


def _sent(session: Session, key: str) -> bool:
    return (
        session.scalar(sa.select(OutboundMessage.id).where(OutboundMessage.idempotency_key == key))
        is not None
    )


def _untouched() -> sa.ColumnElement[bool]:
    """Requests nobody holds a leg of (a live match, on either leg, is never overridden)."""
    return ~sa.exists().where(Match.request_id == Request.id, Match.status.in_(SEAT_HOLDING))


# --- series occurrences ----------------------------------------------------------------------


def series_key(request_id: int) -> str:
    return f"request:{request_id}:series-proposal"


def propose_series(session: Session, clock: Clock, days: int) -> tuple[list[int], list[int]]:
    """Options for the open occurrences of active series due within ``days`` days.

    One proposal per resident and run (one conversation at a time), soonest first;
    each occurrence once. An occurrence nobody can serve keeps the matcher's reason
    (the "Sans solution" page shows it) and is looked at again on the next run.
    Returns (proposed, without option) request ids.
    """
    now = clock.now()
    due = session.scalars(
        sa.select(Request)
        .join(AppointmentSeries, AppointmentSeries.id == Request.series_id)
        .where(
            AppointmentSeries.state == SeriesState.ACTIVE,
            Request.status == RequestStatus.OPEN,
            Request.latest > now,
            Request.latest <= now + timedelta(days=days),
            _untouched(),
        )
        .order_by(Request.latest, Request.id)
    ).all()
    proposed: list[int] = []
    nothing: list[int] = []
    busy: set[int] = set()
    for request in due:
        if request.resident_id in busy or _sent(session, series_key(request.id)):
            continue
        options = matching.round_trip_options(session, request, clock, limit=3)
        if not options:
            request.unmatched_reason = matching.why_unmatched(session, request, clock)[0]
            nothing.append(request.id)
            continue
        busy.add(request.resident_id)
        if offer_by_sms(session, request, options, key=series_key(request.id), now=now, why="series"):
            proposed.append(request.id)
    return proposed, nothing
