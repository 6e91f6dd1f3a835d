"""Legs on one meridian, so that every amount of the money tests is computed by hand.

0.1° of latitude = 6371 km × π/180 × 0.1 = 11.1195 km as the crow flies, × 1.3 by the
router. The driver lives at 44.3°, the resident is picked up at 44.4° and dropped at 44.5°.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from carpool.db import point
from carpool.models import Match, MatchStatus
from carpool.services import bookings
from support.factories import add_driver, add_offer, add_request, add_resident

HOME, PICKUP, DROPOFF, OFFER_END = (1.5, 44.3), (1.5, 44.4), (1.5, 44.5), (1.5, 44.4)


def meridian_driver(session, association, **fields):
    driver = add_driver(session, association, **fields)
    driver.home_point = point(*HOME)
    session.flush()
    return driver


def book(
    session, association, clock, pickup_at: datetime, *, resident=None, driver=None, on_offer: bool = False
) -> Match:
    """A leg PICKUP → DROPOFF booked for ``pickup_at`` (proposed), dedicated or on the driver's offer."""
    driver = driver or meridian_driver(session, association)
    request = add_request(
        session,
        association,
        resident=resident or add_resident(session, association),
        latest=pickup_at + timedelta(hours=1),
    )
    request.pickup_point, request.dropoff_point = point(*PICKUP), point(*DROPOFF)
    offer = None
    if on_offer:
        offer = add_offer(session, driver, day=pickup_at.date())
        offer.origin_point, offer.destination_point = point(*HOME), point(*OFFER_END)
    session.flush()
    return bookings.propose(
        session,
        request,
        driver_id=driver.id,
        offer_id=offer.id if offer else None,
        pickup_at=pickup_at,
        dropoff_at=pickup_at + timedelta(minutes=30),
        detour_min=0.0,
        actor="test",
        clock=clock,
    )


def drive(match: Match, session, clock) -> Match:
    """Accept, confirm and complete the leg."""
    for status in (MatchStatus.ACCEPTED, MatchStatus.CONFIRMED, MatchStatus.COMPLETED):
        bookings.transition(session, match, status, actor="test", clock=clock)
    return match
