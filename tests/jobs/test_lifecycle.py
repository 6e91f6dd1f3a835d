"""Proposals expire, unmet requests are counted, trips complete: each derived from rows, idempotent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from support.factories import add_driver, add_offer, add_request, add_resident, add_trip
from support.jobkit import audits, queued, tick

from carpool.clock import PARIS, FrozenClock
from carpool.config import Settings
from carpool.models import Match, MatchStatus, Offer, Request, RequestSource, RequestStatus
from carpool.services import bookings


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def proposal(session, association, clock, *, pickup_at):
    """An en-route proposal holding a seat, as the matcher makes it."""
    person = add_resident(session, association)
    driver = add_driver(session, association)
    offer = add_offer(session, driver, day=pickup_at.astimezone(PARIS).date())
    ride = add_request(
        session,
        association,
        resident=person,
        latest=pickup_at + timedelta(hours=1),
        source=RequestSource.PHONE,
        status=RequestStatus.OPEN,
    )
    match = bookings.propose(
        session,
        ride,
        driver_id=driver.id,
        offer_id=offer.id,
        pickup_at=pickup_at,
        dropoff_at=pickup_at + timedelta(minutes=40),
        detour_min=5,
        actor="user:1",
        clock=clock,
    )
    session.commit()
    return match


def state(db, match_id):
    with db.session() as session:
        match = session.get_one(Match, match_id)
        ride = session.get_one(Request, match.request_id)
        seats = session.get_one(Offer, match.offer_id).seats_left if match.offer_id else None
        return match.status, ride.status, ride.unmatched_reason, seats


def test_a_proposal_unanswered_for_12_hours_expires_and_gives_the_seat_back(db, session, association):
    clock = FrozenClock(paris(2026, 11, 23, 10).astimezone(UTC))
    match = proposal(session, association, clock, pickup_at=paris(2026, 12, 1, 8))
    clock.advance(hours=11, minutes=59)
    tick(db, clock)
    assert state(db, match.id)[0] is MatchStatus.PROPOSED

    clock.advance(minutes=1)
    tick(db, clock)
    tick(db, clock)

    assert state(db, match.id) == (MatchStatus.EXPIRED, RequestStatus.OPEN, "proposal_expired", 3)
    assert len(audits(db, "match.expired")) == 1


def test_the_resident_is_told_a_coordinator_will_look_but_not_at_night(db, session, association):
    clock = FrozenClock(paris(2026, 11, 23, 10).astimezone(UTC))
    match = proposal(session, association, clock, pickup_at=paris(2026, 12, 1, 8))
    key = f"match:{match.id}:expired"
    clock.current = paris(2026, 11, 23, 22, 0).astimezone(UTC)  # expired at 22:00
    tick(db, clock)
    assert key not in queued(db)

    clock.current = paris(2026, 11, 24, 8, 0).astimezone(UTC)
    tick(db, clock)

    assert queued(db)[key].body.startswith("Votre trajet du mardi 1er déc. n'a pas été confirmé à temps.")


def test_an_accepted_proposal_the_passenger_never_confirms_expires_too(db, session, association):
    clock = FrozenClock(paris(2026, 11, 23, 10).astimezone(UTC))
    match = proposal(session, association, clock, pickup_at=paris(2026, 12, 1, 8))
    bookings.transition(session, match, MatchStatus.ACCEPTED, actor="driver:1", clock=clock)
    session.commit()
    clock.advance(hours=12)

    tick(db, clock, "expire_proposals")

    assert state(db, match.id)[0] is MatchStatus.EXPIRED


def test_the_timeout_is_a_setting(db, session, association):
    clock = FrozenClock(paris(2026, 11, 23, 10).astimezone(UTC))
    match = proposal(session, association, clock, pickup_at=paris(2026, 12, 1, 8))
    clock.advance(hours=2)

    tick(db, clock, "expire_proposals", settings=Settings(proposal_timeout_hours=2))

    assert state(db, match.id)[0] is MatchStatus.EXPIRED


def test_an_open_request_past_its_time_becomes_unmet_demand_keeping_its_reason(db, session, association):
    clock = FrozenClock(paris(2026, 11, 23, 10).astimezone(UTC))
    ride = add_request(
        session,
        association,
        resident=add_resident(session, association),
        source=RequestSource.PHONE,
        latest=paris(2026, 11, 23, 11),
        status=RequestStatus.OPEN,
    )
    ride.unmatched_reason = "no_driver_nearby"
    session.commit()

    tick(db, clock)
    assert session.get_one(Request, ride.id).status is RequestStatus.OPEN
    clock.advance(hours=1)
    tick(db, clock)
    session.expire_all()

    assert (ride.status, ride.unmatched_reason) == (RequestStatus.EXPIRED, "no_driver_nearby")


def test_a_confirmed_trip_is_completed_once_its_dropoff_time_has_passed(db, session, association):
    clock = FrozenClock(paris(2026, 11, 30, 10).astimezone(UTC))
    match = add_trip(
        session, association, pickup_at=paris(2026, 11, 30, 10), booked_at=paris(2026, 11, 20, 9)
    )
    session.commit()
    tick(db, clock, "complete_trips")
    assert state(db, match.id)[0] is MatchStatus.CONFIRMED

    clock.advance(minutes=40)
    tick(db, clock, "complete_trips")

    assert state(db, match.id)[:2] == (MatchStatus.COMPLETED, RequestStatus.DONE)


def test_only_confirmed_trips_are_completed(db, session, association):
    clock = FrozenClock(paris(2026, 11, 30, 12).astimezone(UTC))
    cancelled = add_trip(
        session,
        association,
        pickup_at=paris(2026, 11, 30, 10),
        booked_at=paris(2026, 11, 20, 9),
        status=MatchStatus.CANCELLED,
    )
    session.commit()

    tick(db, clock, "complete_trips")

    assert state(db, cancelled.id)[0] is MatchStatus.CANCELLED
