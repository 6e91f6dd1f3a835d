"""A resident takes a ride option: the one booking path for SMS choices and coordinators.

En-route seats are the driver's acceptance already, so the trip is confirmed at
once and both confirmations are queued. A volunteer driving on request must
accept first: the match stays proposed, and the caller tells the driver and
the resident (their keys differ: an inbound SMS, a coordinator's action).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from carpool.clock import Clock
from carpool.models import Commune, Driver, Match, MatchStatus, Request, Resident
from carpool.services import bookings, reminders
from carpool.services.matching import RideOption


def book_option(session: Session, request: Request, option: RideOption, *, actor: str, clock: Clock) -> Match:
    """Book ``option`` for ``request`` on the resident's behalf; raises bookings.BookingError.

    ``actor`` is the resident (``resident:<id>``) or the coordinator who booked with them.
    """
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
        return match
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
    # Under the match's keys (match:<id>:confirmed:…), so the scheduler's notices job sees them queued.
    reminders.enqueue_confirmation(session, reminders.booking_of(session, match))
    return match


def pickup_place(session: Session, request: Request) -> str:
    return session.get_one(Commune, request.pickup_commune_insee).name


def resident_of(session: Session, request: Request) -> Resident:
    return session.get_one(Resident, request.resident_id)
