"""A round trip is booked whole: both legs or neither, and one way back per request."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time

import pytest
import sqlalchemy as sa
from support.factories import CAHORS, FIGEAC, TUESDAY, add_driver, add_offer, add_request

from carpool.clock import PARIS
from carpool.models import Leg, Match, MatchStatus, Offer, Request
from carpool.services import booking_flow, matching
from carpool.services.bookings import BookingError, LegTaken, propose

RETURN_AT = datetime.combine(TUESDAY.date(), time(11, 30), tzinfo=PARIS)


@pytest.fixture
def round_trip(session, association) -> Request:
    request = add_request(session, association, return_at=RETURN_AT)
    add_offer(session, add_driver(session, association), depart=time(8, 0))
    anne = add_driver(session, association, first_name="Anne")
    add_offer(session, anne, depart=time(11, 30), origin=CAHORS, destination=FIGEAC)
    session.commit()
    return request


def test_a_round_trip_is_offered_only_with_both_legs(session, round_trip, clock):
    (option,) = matching.round_trip_options(session, round_trip, clock)

    assert option.back is not None
    assert (option.out.leg, option.back.leg) == (Leg.OUT, Leg.BACK)
    assert option.back.pickup_at >= option.out.dropoff_at


def test_a_request_without_return_has_no_way_back(session, association, clock):
    request = add_request(session, association)
    add_offer(session, add_driver(session, association), depart=time(8, 0))
    session.commit()

    (option,) = matching.round_trip_options(session, request, clock)

    assert option.back is None


def test_booking_a_round_trip_confirms_both_legs(session, round_trip, clock):
    (option,) = matching.round_trip_options(session, round_trip, clock)

    out, back = booking_flow.book_round_trip(session, round_trip, option, actor="test", clock=clock)

    assert (out.status, back.status) == (MatchStatus.CONFIRMED, MatchStatus.CONFIRMED)


def test_a_way_back_taken_meanwhile_undoes_the_outward_booking(db, session, round_trip, clock):
    (option,) = matching.round_trip_options(session, round_trip, clock)
    assert option.back is not None
    session.commit()  # SQLite: one writer at a time, and this session has read
    with db.session() as other:  # someone else books the way back first
        taken = other.get_one(Request, round_trip.id)
        propose(other, taken, **_leg(option.back), actor="other", clock=clock, leg=Leg.BACK)
        other.commit()

    with pytest.raises(BookingError), session.begin_nested():
        booking_flow.book_round_trip(session, round_trip, option, actor="test", clock=clock)
    session.rollback()

    legs = session.scalars(sa.select(Match.leg).where(Match.request_id == round_trip.id)).all()
    assert legs == [Leg.BACK]
    outward = session.scalars(sa.select(Offer).where(Offer.destination_commune_insee == CAHORS)).one()
    assert outward.seats_left == outward.seats_total


def test_two_people_booking_the_same_way_back_at_once_one_wins(db, session, round_trip, clock):
    (option,) = matching.round_trip_options(session, round_trip, clock)
    assert option.back is not None
    session.commit()
    barrier = threading.Barrier(2)

    def attempt(_: int) -> str:
        barrier.wait()
        try:
            with db.session() as own:
                request = own.get_one(Request, round_trip.id)
                propose(own, request, **_leg(option.back), actor="test", clock=clock, leg=Leg.BACK)
                own.commit()
            return "booked"
        except LegTaken:
            return "taken"
        except BookingError as error:  # the seat went first: also a loss
            return type(error).__name__

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(attempt, range(2)))

    assert outcomes == ["booked", "taken"]
    with db.session() as check:
        live = check.scalars(
            sa.select(Match).where(Match.request_id == round_trip.id, Match.leg == Leg.BACK)
        ).all()
    assert len(live) == 1


def _leg(option: matching.RideOption) -> dict[str, object]:
    return {
        "driver_id": option.driver_id,
        "offer_id": option.offer_id,
        "pickup_at": option.pickup_at,
        "dropoff_at": option.dropoff_at,
        "detour_min": option.detour_min,
    }


def _option(driver_id: int, offer_id: int | None, pickup: time, dropoff: time, leg: Leg, detour: float = 5.0):
    day = TUESDAY.date()
    return matching.RideOption(
        driver_id,
        offer_id,
        datetime.combine(day, pickup, PARIS),
        datetime.combine(day, dropoff, PARIS),
        detour,
        leg,
    )


def test_pairs_never_reuse_seats_nor_start_home_before_arriving(association):
    request = Request(return_at=RETURN_AT)
    out = _option(1, 10, time(8, 30), time(9, 30), Leg.OUT)
    same_seats = _option(1, 10, time(11, 30), time(12, 30), Leg.BACK)
    too_soon = _option(2, 20, time(9, 0), time(10, 0), Leg.BACK)
    fine = _option(3, 30, time(11, 30), time(12, 30), Leg.BACK)

    pairs = matching._pairs(request, out, [same_seats, too_soon, fine])

    assert [p.back for p in pairs] == [fine]


def test_the_same_driver_both_ways_is_preferred_when_detours_are_equal():
    out = _option(1, 10, time(8, 30), time(9, 30), Leg.OUT)
    other = matching.RoundTripOption(out, _option(2, 20, time(11, 30), time(12, 30), Leg.BACK))
    same = matching.RoundTripOption(out, _option(1, 11, time(11, 30), time(12, 30), Leg.BACK))

    assert sorted([other, same], key=matching._pair_rank) == [same, other]


def test_a_volunteer_who_waits_brings_the_resident_home_at_the_return_time():
    request = Request(return_at=RETURN_AT)
    out = _option(7, None, time(8, 30), time(9, 10), Leg.OUT, detour=80.0)

    (pair,) = matching._pairs(request, out, [])

    assert pair.waits and pair.back is not None
    assert (pair.back.pickup_at, pair.back.dropoff_at - pair.back.pickup_at) == (
        RETURN_AT,
        out.dropoff_at - out.pickup_at,
    )
