"""The application's door to the matcher: real rows in, options and reasons out."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from support.factories import CAJARC, GOURDON, PARIS, TUESDAY, add_driver, add_offer, add_request

from carpool.clock import FrozenClock
from carpool.models import AvailabilitySlot, Offer, TimeOff, VettingStatus
from carpool.services import matching


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 30, 9, 0, tzinfo=PARIS))


def test_a_figeac_cahors_driver_is_offered_to_a_cajarc_resident(session, association, clock):
    driver = add_driver(session, association)
    offer = add_offer(session, driver)
    request = add_request(session, association)

    options = matching.ride_options(session, request, clock)

    assert [(o.offer_id, o.driver_id) for o in options] == [(offer.id, driver.id)]
    assert options[0].dropoff_at <= request.latest


def test_a_pending_driver_is_never_offered(session, association, clock):
    add_offer(session, add_driver(session, association, vetting=VettingStatus.PENDING))
    request = add_request(session, association)

    assert matching.ride_options(session, request, clock) == []


def test_a_full_offer_disappears_from_the_cached_index(session, association, clock):
    offer = add_offer(session, add_driver(session, association))
    request = add_request(session, association)
    assert matching.ride_options(session, request, clock)

    session.execute(
        sa.update(Offer).where(Offer.id == offer.id).values(seats_left=0, updated_at=sa.func.now())
    )
    clock.advance(seconds=1)

    assert matching.ride_options(session, request, clock) == []


def test_a_new_offer_appears_without_a_rebuild(session, association, clock):
    request = add_request(session, association)
    assert matching.ride_options(session, request, clock) == []

    offer = add_offer(session, add_driver(session, association))
    clock.advance(seconds=1)

    assert [o.offer_id for o in matching.ride_options(session, request, clock)] == [offer.id]


def test_a_volunteer_available_on_tuesday_morning_drives_from_home(session, association, clock):
    volunteer = add_driver(session, association, insee=CAJARC, radius_km=20)
    session.add(
        AvailabilitySlot(driver_id=volunteer.id, weekday=1, starts_at=time(7, 0), ends_at=time(12, 0))
    )
    request = add_request(session, association)

    options = matching.ride_options(session, request, clock)

    assert [(o.offer_id, o.driver_id) for o in options] == [(None, volunteer.id)]


def test_a_volunteer_on_holiday_is_not_offered(session, association, clock):
    volunteer = add_driver(session, association, insee=CAJARC)
    session.add(
        AvailabilitySlot(driver_id=volunteer.id, weekday=1, starts_at=time(7, 0), ends_at=time(12, 0))
    )
    session.add(TimeOff(driver_id=volunteer.id, first_day=TUESDAY.date(), last_day=TUESDAY.date()))
    request = add_request(session, association)

    assert matching.ride_options(session, request, clock) == []


def test_an_offer_far_from_the_route_explains_the_detour(session, association, clock):
    add_offer(session, add_driver(session, association))
    request = add_request(session, association, pickup=GOURDON)

    reason, near_miss = matching.why_unmatched(session, request, clock)

    assert reason == "detour_too_long"
    assert near_miss is not None


def test_weekly_slots_keep_local_hours_across_the_dst_change():
    slot = AvailabilitySlot(weekday=6, starts_at=time(9, 0), ends_at=time(11, 0))
    start = datetime(2026, 10, 24, 12, 0, tzinfo=PARIS)

    (dated,) = matching.dated_slots([slot], [], start, start + timedelta(days=2))

    assert dated.start == datetime(2026, 10, 25, 9, 0, tzinfo=PARIS)
    assert dated.start.utcoffset() == timedelta(hours=1)


def test_replacing_a_time_off_period_is_seen_even_if_the_id_comes_back(session, association, clock):
    volunteer = add_driver(session, association, insee=CAJARC)
    session.add(
        AvailabilitySlot(driver_id=volunteer.id, weekday=1, starts_at=time(7, 0), ends_at=time(12, 0))
    )
    away = TimeOff(driver_id=volunteer.id, first_day=TUESDAY.date(), last_day=TUESDAY.date())
    session.add(away)
    request = add_request(session, association)
    assert matching.ride_options(session, request, clock) == []

    away_id = away.id
    session.delete(away)
    session.flush()
    session.add(
        TimeOff(id=away_id, driver_id=volunteer.id, first_day=date(2026, 12, 20), last_day=date(2026, 12, 24))
    )
    session.flush()

    assert [o.driver_id for o in matching.ride_options(session, request, clock)] == [volunteer.id]


def test_pausing_one_volunteer_and_vetting_another_is_seen(session, association, clock):
    first = add_driver(session, association, insee=CAJARC)
    second = add_driver(session, association, insee=CAJARC, vetting=VettingStatus.PENDING)
    for driver in (first, second):
        session.add(
            AvailabilitySlot(driver_id=driver.id, weekday=1, starts_at=time(7, 0), ends_at=time(12, 0))
        )
    request = add_request(session, association)
    assert [o.driver_id for o in matching.ride_options(session, request, clock)] == [first.id]

    first.vetting, second.vetting = VettingStatus.PAUSED, VettingStatus.VETTED
    session.flush()

    assert [o.driver_id for o in matching.ride_options(session, request, clock)] == [second.id]
