"""Options sent to residents without their asking: their series' occurrences, the nightly re-optimisation.

A resident who texts a request gets options at once (sms_inbound). Two kinds of
open requests get no such text: the occurrences a series materialises at night,
and requests a joint (batch) matching could serve better than one by one. Both
are proposed here with the very SMS and conversation a texted request gets, so the
resident's OUI books through ``booking_flow`` as usual: seats are taken then, by
the guarded UPDATE of ``bookings.take_seats``, never here. A seat another
resident took meanwhile makes the OUI answer "option_gone"; it is never booked twice.

Each proposal is an outbox row under a unique key (``request:<id>:series-proposal``,
``request:<id>:reoptimised``): a job run twice, or after a crash, proposes once. It goes on
the resident's channels (``outbox.enqueue_notice``): a landline hears it in a call.
A resident in the middle of a conversation (choosing, asking) is not interrupted:
their request waits for the next run. Texts queued at night leave at 08:00.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import Clock
from carpool.models import (
    SEAT_HOLDING,
    AppointmentSeries,
    Association,
    Conversation,
    ConversationState,
    Leg,
    Match,
    OutboundMessage,
    Request,
    RequestStatus,
    Resident,
    SeriesState,
)
from carpool.notify.compose import render
from carpool.notify.outbox import enqueue_notice, is_opted_out
from carpool.services import audit, desk, matching, reminders, sms_inbound
from carpool.services.sms_inbound import CONVERSATION_TTL

SYSTEM = "system"


def offer_by_sms(
    session: Session,
    request: Request,
    options: Sequence[matching.RoundTripOption],
    *,
    key: str,
    now: datetime,
    why: str,
    leg: Leg = Leg.OUT,
) -> bool:
    """Send the resident these options as the SMS conversation would; False when not sent now.

    Not sent: the resident said STOP, was erased, or is in the middle of a conversation
    (their answer to it comes first), or ``key`` was used already.
    """
    resident = session.get_one(Resident, request.resident_id)
    if resident.sms_opted_out or resident.erased_at is not None or _sent(session, key):
        return False
    if is_opted_out(session, resident.phone) or not _still_open(session, request, leg):
        return False
    conversation = sms_inbound.conversation_of(session, resident, now)
    if conversation.state is not ConversationState.IDLE:
        return False
    conversation.updated_at, conversation.unknown_replies = now, 0
    template, context = sms_inbound.present_options(session, conversation, request, options)
    # On the resident's channels, like every notice: a landline hears it in a call, option by option.
    enqueue_notice(
        session,
        key,
        resident,
        render(template, **context),
        association_id=request.association_id,
        not_before=reminders.after_quiet_hours(now),
        trip_at=min(option.out.pickup_at for option in options),
    )
    audit.record(
        session,
        SYSTEM,
        "request.option_sent",
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


def _still_open(session: Session, request: Request, leg: Leg) -> bool:
    """Still waiting for that leg, read again under a row lock (PostgreSQL): a booking made since
    the matcher read the rows is seen here, or waits for this transaction."""
    if leg is Leg.OUT:
        waiting = [Request.status == RequestStatus.OPEN, _untouched()]
    else:
        back = sa.and_(Match.request_id == Request.id, Match.leg == Leg.BACK, Match.status.in_(SEAT_HOLDING))
        waiting = [Request.status.in_((RequestStatus.OPEN, RequestStatus.MATCHED)), ~sa.exists().where(back)]
    found = session.scalar(
        sa.select(Request.id).where(Request.id == request.id, *waiting).with_for_update(of=Request)
    )
    return found is not None


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


# --- nightly re-optimisation -----------------------------------------------------------------

#: The resident already answered no to us for this request: never asked again by the batch.
DECLINED = "declined_by_resident"


def reoptimised_key(request_id: int, leg: Leg = Leg.OUT) -> str:
    return f"request:{request_id}:reoptimised" + (":back" if leg is Leg.BACK else "")


@dataclass(frozen=True)
class ReoptimiseReport:
    asked: int  # open requests (and ways back) looked at together
    served: int  # of which the joint matcher serves (whole trips, ways back)
    proposed: list[int]  # request ids proposed by SMS in this run
    solve_ms: float

    def __str__(self) -> str:
        return (
            f"demandes ouvertes : {self.asked} ; servies ensemble : {self.served} ; "
            f"proposées par SMS : {len(self.proposed)} ; calcul : {self.solve_ms:.0f} ms"
        )


def reoptimise(session: Session, clock: Clock, days: int) -> list[ReoptimiseReport]:
    """For each association, its open requests of the next ``days`` days matched together.

    Looked at: open requests nobody holds a leg of, and the ways back missing behind a
    booked way there ("aller trouvé, retour manquant"), whose resident is not choosing or
    asking right now, did not say no, and was not proposed the same by a batch before.
    Each one served (a whole trip, or the way home) is proposed to its resident (one
    option: the batch's), once; the joint answer never promises a seat twice. Returns one
    report per association with something to look at.
    """
    now = clock.now()
    reports = []
    for association_id in session.scalars(sa.select(Association.id).order_by(Association.id)):
        requests = _reoptimisable(session, association_id, now, days, Leg.OUT)
        ways_back = _reoptimisable(session, association_id, now, days, Leg.BACK)
        if not requests and not ways_back:
            continue
        plan = matching.batch_round_trips(session, association_id, requests, clock, ways_back)
        found = [(request, Leg.OUT, plan.trips.get(request.id)) for request in requests] + [
            (request, Leg.BACK, _alone(plan.ways_back.get(request.id))) for request in ways_back
        ]
        found.sort(key=lambda item: item[0].latest)  # soonest first: one proposal per resident and run
        proposed: list[int] = []
        busy: set[int] = set()
        for request, leg, trip in found:
            if trip is None or request.resident_id in busy or not _whole(request, trip):
                continue
            busy.add(request.resident_id)
            key = reoptimised_key(request.id, leg)
            if offer_by_sms(session, request, [trip], key=key, now=now, why="reoptimise", leg=leg):
                proposed.append(request.id)
        reports.append(
            ReoptimiseReport(
                plan.asked,
                len(plan.trips) + len(plan.ways_back),
                proposed,
                float(plan.stats.get("solve_ms", 0.0)),
            )
        )
    return reports


def _alone(way_back: matching.RideOption | None) -> matching.RoundTripOption | None:
    """A way back proposed alone: a one-leg option (the SMS says "vous ramène")."""
    return matching.RoundTripOption(way_back) if way_back is not None else None


def _whole(request: Request, trip: matching.RoundTripOption) -> bool:
    """A round trip is proposed only with its way back (the matcher keeps them atomic: checked)."""
    return request.return_at is None or request.one_way or trip.back is not None or trip.out.leg is Leg.BACK


def _reoptimisable(
    session: Session, association_id: int, now: datetime, days: int, leg: Leg
) -> list[Request]:
    """Open requests nobody holds (``Leg.OUT``), or booked ones missing their way back (``Leg.BACK``)."""
    choosing = (
        sa.select(Conversation.phone)
        .where(Conversation.state != ConversationState.IDLE, Conversation.updated_at > now - CONVERSATION_TTL)
        .scalar_subquery()
    )
    proposed = sa.select(OutboundMessage.id).where(
        OutboundMessage.idempotency_key
        == sa.literal("request:")
        + sa.cast(Request.id, sa.String)
        + sa.literal(reoptimised_key(0, leg).removeprefix("request:0"))
    )
    if leg is Leg.OUT:
        which = [
            Request.status == RequestStatus.OPEN,
            Request.latest > now,
            Request.earliest <= now + timedelta(days=days),
            _untouched(),
        ]
    else:
        which = [desk.half_covered(now), Request.return_at <= now + timedelta(days=days)]
    return list(
        session.scalars(
            sa.select(Request)
            .join(Resident, Resident.id == Request.resident_id)
            .where(
                Request.association_id == association_id,
                *which,
                sa.or_(Request.unmatched_reason.is_(None), Request.unmatched_reason != DECLINED),
                Resident.erased_at.is_(None),
                Resident.sms_opted_out_at.is_(None),
                Resident.phone.not_in(choosing),
                ~sa.exists(proposed),
            )
            .order_by(Request.latest, Request.id)
        )
    )
