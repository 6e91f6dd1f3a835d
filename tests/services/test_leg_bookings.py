"""Round trips, one leg at a time: options for the way back, bookings per leg, one driver per leg."""

from __future__ import annotations

import threading
from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa
from support.factories import CAHORS, FIGEAC, PARIS, TUESDAY, add_driver, add_offer, add_request

from carpool.clock import FrozenClock
from carpool.models import Leg, Match, MatchStatus, Request, RequestStatus
from carpool.services import booking_flow, bookings, matching

BACK_AT = datetime.combine(TUESDAY.date(), time(11, 30), tzinfo=PARIS)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 30, 9, 0, tzinfo=PARIS))


def round_trip(session, association) -> Request:
    """Cajarc → Cahors for 10:00, ready to come home from 11:30, home by 13:00."""
    return add_request(session, association, return_at=BACK_AT, return_latest=BACK_AT + timedelta(minutes=90))


def volunteer_home(session, request: Request, driver_id: int, clock) -> None:
    """A coordinator books a volunteer for the way back (no offer): 40 minutes from 11:30."""
    bookings.propose(
        session,
        request,
        driver_id=driver_id,
        offer_id=None,
        pickup_at=BACK_AT,
        dropoff_at=BACK_AT + timedelta(minutes=40),
        detour_min=0,
        actor="coordinator:1",
        clock=clock,
        leg=Leg.BACK,
    )


def test_the_way_back_is_served_by_an_offer_going_the_other_way(session, association, clock):
    there = add_offer(session, add_driver(session, association))
    home = add_offer(
        session, add_driver(session, association, first_name="Anne"), time(11, 40), CAHORS, FIGEAC
    )
    request = round_trip(session, association)

    out = matching.ride_options(session, request, clock)
    back = matching.ride_options(session, request, clock, leg=Leg.BACK)

    assert [(o.offer_id, o.leg) for o in out] == [(there.id, Leg.OUT)]
    assert [(o.offer_id, o.leg) for o in back] == [(home.id, Leg.BACK)]
    assert back[0].pickup_at >= BACK_AT and back[0].dropoff_at <= request.return_latest


def test_a_one_way_request_has_no_options_for_a_way_back(session, association, clock):
    request = add_request(session, association)

    with pytest.raises(ValueError):
        matching.ride_options(session, request, clock, leg=Leg.BACK)


def test_each_leg_is_booked_on_its_own_and_the_way_back_never_moves_the_request(session, association, clock):
    add_offer(session, add_driver(session, association))
    add_offer(session, add_driver(session, association, first_name="Anne"), time(11, 40), CAHORS, FIGEAC)
    request = round_trip(session, association)
    (out,) = matching.ride_options(session, request, clock)
    (back,) = matching.ride_options(session, request, clock, leg=Leg.BACK)

    going = booking_flow.book_option(session, request, out, actor="coordinator:1", clock=clock)
    coming = booking_flow.book_option(session, request, back, actor="coordinator:1", clock=clock)
    session.refresh(request)

    assert (going.leg, coming.leg) == (Leg.OUT, Leg.BACK)
    assert going.status is coming.status is MatchStatus.CONFIRMED
    assert request.status is RequestStatus.MATCHED

    bookings.transition(session, coming, MatchStatus.CANCELLED, actor="coordinator:1", clock=clock)
    session.refresh(request)
    assert request.status is RequestStatus.MATCHED  # still going there; the way back is free again
    again = booking_flow.book_option(session, request, back, actor="coordinator:1", clock=clock)
    assert again.leg is Leg.BACK and again.id != coming.id


def test_a_leg_that_has_a_driver_cannot_be_booked_twice(session, association, clock):
    add_offer(session, add_driver(session, association, first_name="Anne"), time(11, 40), CAHORS, FIGEAC)
    request = round_trip(session, association)
    (back,) = matching.ride_options(session, request, clock, leg=Leg.BACK)
    booking_flow.book_option(session, request, back, actor="coordinator:1", clock=clock)

    with pytest.raises(bookings.LegTaken):
        booking_flow.book_option(session, request, back, actor="coordinator:2", clock=clock)


def test_no_way_back_is_booked_for_a_request_that_asked_none(session, association, clock):
    driver = add_driver(session, association)
    request = add_request(session, association)

    with pytest.raises(bookings.RequestNotOpen):
        volunteer_home(session, request, driver.id, clock)


def test_two_people_booking_the_same_way_back_at_once_one_wins(db, session, association, clock):
    """Two sessions, two threads: the partial unique index lets exactly one way back through."""
    drivers = [add_driver(session, association, first_name=name) for name in ("Anne", "Paul")]
    request = round_trip(session, association)
    session.commit()
    start, outcomes = threading.Barrier(2), []

    def book(driver_id: int) -> None:
        start.wait()
        with db.session() as other:  # SQLite: a session's first read takes the write lock
            ride = other.get_one(Request, request.id)
            try:
                volunteer_home(other, ride, driver_id, clock)
                other.commit()
                outcomes.append("booked")
            except bookings.BookingError:
                other.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=book, args=(d.id,)) for d in drivers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    session.expire_all()
    legs = session.scalars(sa.select(Match.leg).where(Match.request_id == request.id)).all()
    assert sorted(outcomes) == ["booked", "refused"] and legs == [Leg.BACK]
