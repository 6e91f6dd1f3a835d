"""The daily re-optimisation: open requests matched together, each served one proposed once by SMS."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa
from support.factories import (
    CAHORS,
    FIGEAC,
    RESIDENT_PHONE,
    TUESDAY,
    add_association,
    add_driver,
    add_offer,
    add_request,
    add_resident,
    post_text,
)
from support.jobkit import outbox, tick

from carpool import jobs, scheduler
from carpool.clock import PARIS
from carpool.config import Settings
from carpool.errors import StartupError
from carpool.leader import leadership_for
from carpool.models import (
    Conversation,
    ConversationState,
    Match,
    MatchStatus,
    Offer,
    OutboundMessage,
    Request,
)
from carpool.notify.gsm import segments
from carpool.services import booking_flow, matching

#: Tuesday 1 December is eight days after the tests' Monday: look that far.
AHEAD = Settings(reoptimise_days=10)


def _proposals(db) -> dict:
    return {k: row for k, row in outbox(db, prefix="request:").items() if k.endswith(":reoptimised")}


@pytest.fixture
def crowded(session, association):
    """Jeanne (one passenger) fits on both cars; the Martins (two) only on Sophie's two seats."""
    sophie = add_driver(session, association)
    anne = add_driver(session, association, first_name="Anne")
    two_seats = add_offer(session, sophie, depart=time(8, 0), seats=2)
    one_seat = add_offer(session, anne, depart=time(8, 0), seats=1)
    jeanne = add_request(session, association)
    martins = add_request(
        session, association, resident=add_resident(session, association, first_name="Paul"), passengers=2
    )
    session.commit()
    return jeanne, martins, two_seats, one_seat


def test_requests_matched_together_each_get_a_seat_nobody_else_was_promised(db, clock, crowded):
    jeanne, martins, _two_seats, _one_seat = crowded

    tick(db, clock, "reoptimise", settings=AHEAD)

    sent = _proposals(db)
    assert set(sent) == {f"request:{jeanne.id}:reoptimised", f"request:{martins.id}:reoptimised"}
    assert "Anne vous prend" in sent[f"request:{jeanne.id}:reoptimised"].body
    assert "Sophie vous prend" in sent[f"request:{martins.id}:reoptimised"].body
    assert all(segments(row.body) == 1 for row in sent.values())


def test_running_twice_proposes_nothing_more(db, clock, crowded):
    tick(db, clock, "reoptimise", settings=AHEAD)
    first = {k: row.body for k, row in _proposals(db).items()}

    clock.advance(hours=1)
    tick(db, clock, "reoptimise", settings=AHEAD)

    assert {k: row.body for k, row in _proposals(db).items()} == first
    assert len(outbox(db, prefix="")) == 2


def test_a_request_with_a_live_match_is_left_alone(db, session, association, clock, crowded):
    jeanne, martins, _two_seats, _one_seat = crowded
    (option,) = matching.round_trip_options(session, session.get_one(Request, martins.id), clock, limit=1)
    (booked,) = booking_flow.book_round_trip(
        session, session.get_one(Request, martins.id), option, actor="test", clock=clock
    )
    session.commit()

    tick(db, clock, "reoptimise", settings=AHEAD)

    assert list(_proposals(db)) == [f"request:{jeanne.id}:reoptimised"]
    with db.session() as check:
        (match,) = check.scalars(sa.select(Match).where(Match.request_id == martins.id)).all()
        assert (match.id, match.status) == (booked.id, MatchStatus.CONFIRMED)


def test_a_resident_who_said_no_or_is_choosing_is_not_asked(db, session, clock, crowded):
    _jeanne, martins, _two, _one = crowded
    session.get_one(Request, martins.id).unmatched_reason = "declined_by_resident"
    session.add(
        Conversation(
            association_id=martins.association_id,
            phone=RESIDENT_PHONE,
            state=ConversationState.CHOOSING,
            draft={},
            options=[],
            unknown_replies=0,
            updated_at=clock.now(),
        )
    )
    session.commit()

    tick(db, clock, "reoptimise", settings=AHEAD)

    assert not _proposals(db)


def test_the_resident_books_the_batch_option_with_oui(client, db, clock, crowded):
    jeanne, _martins, _two, one_seat = crowded
    tick(db, clock, "reoptimise", settings=AHEAD)

    post_text(client, "OUI", RESIDENT_PHONE)

    with db.session() as check:
        (match,) = check.scalars(sa.select(Match).where(Match.request_id == jeanne.id)).all()
        assert (match.offer_id, match.status) == (one_seat.id, MatchStatus.CONFIRMED)


def test_a_round_trip_without_a_way_back_is_not_proposed(db, session, association, clock):
    add_offer(session, add_driver(session, association), depart=time(8, 0))
    add_request(session, association, return_at=datetime.combine(TUESDAY.date(), time(11, 30), PARIS))
    session.commit()

    tick(db, clock, "reoptimise", settings=AHEAD)

    assert not _proposals(db)


def test_the_scheduler_runs_it_daily_unless_turned_off(db, clock, crowded):
    assert "reoptimise" in scheduler.schedule(Settings())
    assert scheduler.next_runs(Settings(), clock.now())["reoptimise"].endswith("07:30")
    leader = leadership_for(db, 30)
    assert leader.acquire()
    try:
        outcomes = scheduler.run_once(db, clock, leader, Settings(reoptimise_at="off"), None)
    finally:
        leader.release()

    assert "reoptimise" not in [o.name for o in outcomes]
    assert not _proposals(db)
    assert jobs.run_job(db, "reoptimise", clock, settings=AHEAD).result.startswith("demandes ouvertes : 2 ;")


@pytest.mark.parametrize("value", ["7h30", "25:00", "12:61", "soon"])
def test_a_bad_reoptimise_time_is_refused_at_start_up(value):
    with pytest.raises(StartupError, match="REOPTIMISE_AT"):
        Settings.from_env({"REOPTIMISE_AT": value})

    assert Settings.from_env({"REOPTIMISE_AT": "6:05"}).reoptimise_at == "06:05"
    assert Settings.from_env({"REOPTIMISE_AT": "OFF"}).reoptimise_at == "off"


def test_carpool_jobs_run_reoptimise_proposes_on_demand(db, database_url, clock, crowded, tmp_path):
    import os
    import subprocess

    from support.sendkit import CARPOOL

    now = tmp_path / "now"
    now.write_text(clock.now().isoformat(), encoding="utf-8")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test",
        "LOG_LEVEL": "WARNING",
        "CARPOOL_CLOCK_FILE": str(now),
        "REOPTIMISE_DAYS": "10",
        "REOPTIMISE_AT": "off",
    }

    result = subprocess.run(
        [CARPOOL, "jobs", "run", "reoptimise"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        "reoptimise : demandes ouvertes : 2 ; servies ensemble : 2 ; proposées par SMS : 2"
    )
    assert len(_proposals(db)) == 2


def test_another_associations_cars_are_never_proposed(db, session, association, clock):
    elsewhere = add_association(session, "Covoit Figeac", sms_number="06 39 98 00 09")
    add_offer(session, add_driver(session, elsewhere), depart=time(8, 0))
    add_request(session, association)
    session.commit()

    tick(db, clock, "reoptimise", settings=AHEAD)

    assert not _proposals(db)


def test_a_way_there_booked_without_a_way_back_gets_one_proposed_once(
    client, db, session, association, clock
):
    request = add_request(
        session, association, return_at=datetime.combine(TUESDAY.date(), time(11, 30), PARIS)
    )
    there = add_offer(session, add_driver(session, association), depart=time(8, 0))
    session.commit()
    (option,) = matching.ride_options(session, request, clock, limit=1)
    booking_flow.book_option(session, request, option, actor="test", clock=clock)
    anne = add_driver(session, association, first_name="Anne")
    home = add_offer(session, anne, depart=time(11, 30), origin=CAHORS, destination=FIGEAC)
    session.commit()

    tick(db, clock, "reoptimise", settings=AHEAD)
    tick(db, clock, "reoptimise", settings=AHEAD)

    (key, sms) = _way_back_proposals(db).popitem()
    assert key == f"request:{request.id}:reoptimised:back"
    assert "Anne vous ramène à 11h30" in sms.body
    assert not _proposals(db)  # the way there is not proposed again

    post_text(client, "OUI", RESIDENT_PHONE)

    with db.session() as check:
        legs = {m.leg.value: (m.offer_id, m.status) for m in check.scalars(sa.select(Match))}
    assert legs == {"out": (there.id, MatchStatus.CONFIRMED), "back": (home.id, MatchStatus.CONFIRMED)}


def _way_back_proposals(db) -> dict:
    return {k: row for k, row in outbox(db, prefix="request:").items() if k.endswith(":reoptimised:back")}


def test_a_seat_taken_after_the_proposal_is_never_booked_twice(
    client, db, session, association, clock, crowded
):
    jeanne, _martins, _two_seats, one_seat = crowded
    tick(db, clock, "reoptimise", settings=AHEAD)
    # Meanwhile another resident takes the last seat of the car proposed to Jeanne.
    other = add_request(session, association, resident=add_resident(session, association, first_name="Marie"))
    session.commit()
    taken = matching.RideOption(
        one_seat.driver_id, one_seat.id, other.earliest, other.earliest + timedelta(minutes=40), 2.0
    )
    booking_flow.book_option(session, other, taken, actor="test", clock=clock)
    session.commit()

    post_text(client, "OUI", RESIDENT_PHONE)

    with db.session() as check:
        assert check.get_one(Offer, one_seat.id).seats_left == 0
        on_it = check.scalars(sa.select(Match).where(Match.offer_id == one_seat.id)).all()
        assert [m.request_id for m in on_it] == [other.id]
        assert not check.scalars(sa.select(Match).where(Match.request_id == jeanne.id)).all()
        last = check.scalars(
            sa.select(OutboundMessage.body)
            .where(OutboundMessage.to_phone == RESIDENT_PHONE)
            .order_by(OutboundMessage.id.desc())
        ).first()
    assert last is not None and last.startswith("Cette proposition n'est plus disponible")
