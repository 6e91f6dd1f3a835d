"""A resident takes a ride option: the one booking path for SMS choices and coordinators.

En-route seats are the driver's acceptance already, so the trip is confirmed at
once and both confirmations are queued. A round trip is booked whole (both legs
in one transaction) and the resident's confirmation names both legs. A volunteer driving on request must
accept first: the match stays proposed, and the caller tells the driver and
the resident (their keys differ: an inbound SMS, a coordinator's action).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from carpool.clock import Clock
from carpool.models import Commune, Driver, Leg, Match, MatchStatus, Request, Resident
from carpool.services import bookings, reminders
from carpool.services.matching import RideOption, RoundTripOption


def book_option(session: Session, request: Request, option: RideOption, *, actor: str, clock: Clock) -> Match:
    """Book one leg ``option`` for ``request`` on the resident's behalf; raises bookings.BookingError.

    ``actor`` is the resident (``resident:<id>``) or the coordinator who booked with them.
    """
    match = _book_leg(session, request, option, actor=actor, clock=clock)
    _confirm_if_booked(session, [match])
    return match


def book_round_trip(
    session: Session, request: Request, option: RoundTripOption, *, actor: str, clock: Clock
) -> list[Match]:
    """Book every leg of ``option`` or none: the outward leg first, then the way back.

    Runs in the caller's transaction; a ``BookingError`` on the second leg leaves the
    first one flushed, and the caller rolls both back (a savepoint or the request's
    transaction). The resident is told "confirmed" once both legs are (see reminders).
    """
    matches = [_book_leg(session, request, leg, actor=actor, clock=clock) for leg in option.legs]
    _confirm_if_booked(session, matches)
    return matches


def _book_leg(session: Session, request: Request, option: RideOption, *, actor: str, clock: Clock) -> Match:
    match = bookings.propose(
        session,
        request,
        driver_id=option.driver_id,
        offer_id=option.offer_id,
        pickup_at=option.pickup_at,
        dropoff_at=option.dropoff_at,
        detour_min=option.detour_min,
        actor=actor,
        clock=clock,
        for_resident=True,
        leg=option.leg,
    )
    if match.offer_id is None:
        return match  # a volunteer accepts first; the way back of one who waits follows his answer
    driver = session.get_one(Driver, match.driver_id)
    bookings.transition(
        session,
        match,
        MatchStatus.ACCEPTED,
        actor=f"driver:{driver.id}",
        clock=clock,
        reason="places proposées sur le trajet",
    )
    bookings.transition(session, match, MatchStatus.CONFIRMED, actor=actor, clock=clock)
    return match


def _confirm_if_booked(session: Session, matches: list[Match]) -> None:
    # Under the match's keys (match:<id>:confirmed:…), so the scheduler's notices job sees them queued.
    for match in matches:
        if match.status is MatchStatus.CONFIRMED:
            reminders.enqueue_confirmation(session, reminders.booking_of(session, match))


def pickup_place(session: Session, request: Request, leg: Leg = Leg.OUT) -> str:
    """Where the resident is picked up on that leg: home, or the appointment for the way back."""
    insee = request.dropoff_commune_insee if leg is Leg.BACK else request.pickup_commune_insee
    return session.get_one(Commune, insee).name


def resident_of(session: Session, request: Request) -> Resident:
    return session.get_one(Resident, request.resident_id)
