"""Bookings: holding seats and moving a match through its state machine.

Seats are taken with one guarded UPDATE (``seats_left >= n`` in the WHERE
clause, rowcount checked), never by reading then writing: the read-then-write
version overbooked 49 times out of 50 here (see NOTES.md). Every transition is
audited in the same transaction as the change.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carpool.clock import Clock
from carpool.db import dialect_of, least
from carpool.models.trips import (
    MATCH_TRANSITIONS,
    SEAT_HOLDING,
    Leg,
    Match,
    MatchStatus,
    Offer,
    OfferStatus,
    Request,
    RequestStatus,
)
from carpool.services import audit, participation, reminders


class BookingError(Exception):
    """A booking rule said no; the message is for people."""


class SeatUnavailable(BookingError):
    def __init__(self) -> None:
        super().__init__("Il n'y a plus de place libre sur ce trajet.")


class RequestNotOpen(BookingError):
    def __init__(self) -> None:
        super().__init__("Cette demande n'est plus en attente d'un conducteur.")


class LegTaken(BookingError):
    def __init__(self) -> None:
        super().__init__("Ce trajet a déjà un conducteur.")


class TransitionRefused(BookingError):
    def __init__(self, current: MatchStatus, wanted: MatchStatus) -> None:
        self.current, self.wanted = current, wanted
        super().__init__(
            f"Ce trajet est déjà « {current.value} » : impossible de passer à « {wanted.value} »."
        )


def take_seats(session: Session, offer_id: int, seats: int, now: datetime) -> None:
    """Take ``seats`` on an open offer atomically, or raise SeatUnavailable."""
    result = session.execute(
        sa.update(Offer)
        .where(Offer.id == offer_id, Offer.status == OfferStatus.OPEN, Offer.seats_left >= seats)
        .values(seats_left=Offer.seats_left - seats, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise SeatUnavailable()


def lock_offer(session: Session, offer_id: int) -> None:
    """Hold the offer's row until the transaction ends (PostgreSQL; SQLite's BEGIN IMMEDIATE already does).

    Everything that changes an offer's matches takes this lock first, so the
    order is always offer then match: a driver cancelling the offer and a click
    on one of its passengers queue up instead of deadlocking or refusing each other.
    """
    session.execute(sa.select(Offer.id).where(Offer.id == offer_id).with_for_update())


def give_back_seats(session: Session, offer_id: int, seats: int, now: datetime) -> None:
    session.execute(
        sa.update(Offer)
        .where(Offer.id == offer_id)
        .values(
            seats_left=least(dialect_of(session), Offer.seats_left + seats, Offer.seats_total), updated_at=now
        )
        .execution_options(synchronize_session=False)
    )


def _claim_request(session: Session, request_id: int) -> None:
    """Move the request from open to matched atomically: one outward match per request at a time."""
    result = session.execute(
        sa.update(Request)
        .where(Request.id == request_id, Request.status == RequestStatus.OPEN)
        .values(status=RequestStatus.MATCHED, unmatched_reason=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise RequestNotOpen()


def propose(
    session: Session,
    request: Request,
    *,
    driver_id: int,
    offer_id: int | None,
    pickup_at: datetime,
    dropoff_at: datetime,
    detour_min: float,
    actor: str,
    clock: Clock,
    for_resident: bool = False,
    leg: Leg = Leg.OUT,
) -> Match:
    """Hold seats (en-route) and create a proposed match for one leg of a request.

    The outward leg moves the request from open to matched; the way back needs a
    request still asked for (open or matched) and a leg nobody holds, which the
    database guarantees (``uq_ride_match_live_leg``) against two bookings at once.

    ``for_resident``: a coordinator books with the resident's agreement (on the
    phone): once the driver accepts, the trip is confirmed as if the resident
    had chosen it by SMS.
    """
    now = clock.now()
    if leg is Leg.OUT:
        _claim_request(session, request.id)
    else:
        _check_way_back(session, request)
    if offer_id is not None:
        take_seats(session, offer_id, request.passengers, now)
    match = Match(
        request_id=request.id,
        driver_id=driver_id,
        offer_id=offer_id,
        seats=request.passengers,
        leg=leg,
        pickup_at=pickup_at,
        dropoff_at=dropoff_at,
        detour_min=detour_min,
        status=MatchStatus.PROPOSED,
        status_changed_at=now,
    )
    try:
        with session.begin_nested():
            session.add(match)
            session.flush()
    except IntegrityError:
        raise LegTaken() from None
    participation.record_due(session, request, match)
    session.expire(request, ["status", "unmatched_reason"])
    audit.record(
        session,
        actor,
        "match.proposed",
        subject=match,
        association_id=request.association_id,
        request_id=request.id,
        offer_id=offer_id,
        leg=leg.value,
        for_resident=for_resident or actor.startswith("resident:"),
    )
    return match


def _check_way_back(session: Session, request: Request) -> None:
    """A way back is booked only for a request still asked for, and that asked for one."""
    status, return_at = session.execute(
        sa.select(Request.status, Request.return_at).where(Request.id == request.id)
    ).one()
    if return_at is None or status not in (RequestStatus.OPEN, RequestStatus.MATCHED):
        raise RequestNotOpen()


def transition(
    session: Session, match: Match, to: MatchStatus, *, actor: str, clock: Clock, reason: str | None = None
) -> Match:
    """The only way a match changes state: checked against MATCH_TRANSITIONS, guarded, audited.

    The UPDATE is guarded by the state we read, so two people acting at once
    (a driver accepting while a coordinator cancels) cannot both win. A match on
    an offer locks the offer first (see ``lock_offer``).
    """
    if match.offer_id is not None:
        lock_offer(session, match.offer_id)
    current = match.status
    if to not in MATCH_TRANSITIONS[current]:
        raise TransitionRefused(current, to)
    now = clock.now()
    values: dict[str, object] = {"status": to, "status_changed_at": now}
    if to is MatchStatus.CANCELLED:
        values.update(cancelled_by=actor, cancel_reason=reason or "")
    if to is MatchStatus.CONFIRMED:
        values["confirmed_at"] = now
    result = session.execute(
        sa.update(Match)
        .where(Match.id == match.id, Match.status == current)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(match)
        raise TransitionRefused(match.status, to)
    if current in SEAT_HOLDING and to not in SEAT_HOLDING:
        if match.offer_id is not None:
            give_back_seats(session, match.offer_id, match.seats, now)
        _release_request(session, match, to, actor)
    session.refresh(match)
    request = session.get_one(Request, match.request_id)
    audit.record(
        session,
        actor,
        f"match.{to.value}",
        subject=match,
        association_id=request.association_id,
        previous=current.value,
        reason=reason,
    )
    if match.leg is Leg.OUT and match.offer_id is None and _back_follows(to, actor):
        _follow_out_leg(session, match, to, actor=actor, clock=clock, reason=reason)
    if match.leg is Leg.BACK and to in BACK_LOST and not actor.startswith("resident"):
        reminders.tell_out_only(session, match, now)
    return match


#: A way back ending in these states (not by the resident) leaves the resident without a driver home.
BACK_LOST = (MatchStatus.DECLINED, MatchStatus.EXPIRED, MatchStatus.CANCELLED)


#: What a volunteer who waits says about his outward leg he says about the way back too.
FOLLOWED = (MatchStatus.ACCEPTED, MatchStatus.CONFIRMED, MatchStatus.DECLINED, MatchStatus.EXPIRED)


def _back_follows(to: MatchStatus, actor: str) -> bool:
    """A resident who cancels the outward leg is asked about the way back; anyone else ends the duty."""
    return to in FOLLOWED or (to is MatchStatus.CANCELLED and not actor.startswith("resident"))


def _follow_out_leg(
    session: Session, out: Match, to: MatchStatus, *, actor: str, clock: Clock, reason: str | None
) -> None:
    """The way back of a volunteer who waits (same driver, no offer) takes the outward leg's answer."""
    back = session.scalar(
        sa.select(Match).where(
            Match.request_id == out.request_id,
            Match.leg == Leg.BACK,
            Match.driver_id == out.driver_id,
            Match.offer_id.is_(None),
            Match.status.in_(SEAT_HOLDING),
        )
    )
    if back is not None and to in MATCH_TRANSITIONS[back.status]:
        transition(session, back, to, actor=actor, clock=clock, reason=reason)


def _release_request(session: Session, match: Match, to: MatchStatus, actor: str) -> None:
    """An outward match that ends without the trip: its request waits for someone else again.

    The way back does not move the request: it is free again for another driver."""
    resident_cancels = to is MatchStatus.CANCELLED and actor.startswith("resident")
    other_leg = _live_leg(session, match.request_id, Leg.OUT if match.leg is Leg.BACK else Leg.BACK)
    if match.leg is Leg.BACK:
        # The last leg the resident cancels (the outward one went first) ends the request.
        if resident_cancels and not other_leg and _was_cancelled_out(session, match.request_id):
            _set_request_status(session, match.request_id, RequestStatus.CANCELLED)
        return
    if resident_cancels and other_leg:
        return  # only the way there: the way back still runs, the request stays matched
    if to in (MatchStatus.COMPLETED, MatchStatus.NO_SHOW):
        status = RequestStatus.DONE
    elif resident_cancels:
        status = RequestStatus.CANCELLED
    else:
        status = RequestStatus.OPEN
    _set_request_status(session, match.request_id, status)


def _live_leg(session: Session, request_id: int, leg: Leg) -> bool:
    return (
        session.scalar(
            sa.select(Match.id)
            .where(Match.request_id == request_id, Match.leg == leg, Match.status.in_(SEAT_HOLDING))
            .limit(1)
        )
        is not None
    )


def _was_cancelled_out(session: Session, request_id: int) -> bool:
    """The outward leg was cancelled by the resident while the way back was kept."""
    return (
        session.scalar(
            sa.select(Match.id)
            .where(
                Match.request_id == request_id,
                Match.leg == Leg.OUT,
                Match.status == MatchStatus.CANCELLED,
                Match.cancelled_by.like("resident%"),
            )
            .limit(1)
        )
        is not None
        and session.scalar(sa.select(Request.status).where(Request.id == request_id)) is RequestStatus.MATCHED
    )


def _set_request_status(session: Session, request_id: int, status: RequestStatus) -> None:
    session.execute(
        sa.update(Request)
        .where(Request.id == request_id)
        .values(status=status)
        .execution_options(synchronize_session=False)
    )
