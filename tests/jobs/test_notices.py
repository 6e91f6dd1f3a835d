"""Confirmations and reminders are derived from match rows: each one queued exactly once, on time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from support.factories import add_trip
from support.jobkit import audits, outbox, queued, tick

from carpool.clock import PARIS, FrozenClock
from carpool.models import Request
from carpool.services import reminders


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def test_a_confirmed_match_gets_both_confirmations_once_however_often_the_job_runs(
    db, session, association, clock
):
    match = add_trip(session, association, pickup_at=paris(2026, 11, 30, 10), booked_at=clock.now())
    session.commit()

    tick(db, clock)
    tick(db, clock)

    assert set(queued(db)) == {f"match:{match.id}:confirmed:passenger", f"match:{match.id}:confirmed:driver"}


def test_confirmations_queued_by_the_sms_conversation_are_not_queued_again(db, session, association, clock):
    match = add_trip(session, association, pickup_at=paris(2026, 11, 30, 10), booked_at=clock.now())
    reminders.enqueue_confirmation(session, reminders.booking_of(session, match))
    session.commit()
    before = {k: r.id for k, r in queued(db).items()}

    tick(db, clock)

    assert {k: r.id for k, r in queued(db).items()} == before


def test_the_eve_reminder_leaves_at_18h_the_day_before_to_passenger_and_driver(db, session, association):
    clock = FrozenClock(paris(2026, 11, 29, 17, 59).astimezone(UTC))
    match = add_trip(
        session, association, pickup_at=paris(2026, 11, 30, 10), booked_at=paris(2026, 11, 20, 9)
    )
    session.commit()
    eve = {f"match:{match.id}:reminder:eve", f"match:{match.id}:reminder:eve:driver"}

    tick(db, clock)
    assert not eve & set(queued(db))
    clock.advance(minutes=1)
    tick(db, clock)

    assert eve <= set(queued(db))
    assert queued(db)[f"match:{match.id}:reminder:eve"].body.startswith(
        "Rappel : Sophie passe vous prendre lundi 30 nov. à 10h à Cajarc."
    )


def test_the_one_hour_reminder_goes_to_the_passenger_one_hour_before(db, session, association):
    clock = FrozenClock(paris(2026, 11, 30, 8, 59).astimezone(UTC))
    match = add_trip(
        session, association, pickup_at=paris(2026, 11, 30, 10), booked_at=paris(2026, 11, 20, 9)
    )
    session.commit()
    key = f"match:{match.id}:reminder:1h"

    tick(db, clock)
    assert key not in queued(db)
    clock.advance(minutes=1)
    tick(db, clock)

    assert queued(db)[key].body == "Rappel : Sophie passe vous prendre à 10h à Cajarc."


@pytest.mark.parametrize(
    ("pickup", "expected"),
    [
        (paris(2026, 11, 30, 7, 30), paris(2026, 11, 30, 6, 30)),  # an early trip: reminded at night
        (paris(2026, 11, 30, 10, 0), paris(2026, 11, 30, 9, 0)),
        (paris(2026, 11, 30, 22, 30), paris(2026, 11, 30, 20, 45)),  # before quiet hours, not at 21:30
    ],
)
def test_the_one_hour_reminder_respects_quiet_hours_except_for_early_trips(pickup, expected):
    assert reminders.hour_reminder_due(pickup) == expected


def test_nothing_but_the_early_reminder_leaves_between_21h_and_8h():
    assert reminders.after_quiet_hours(paris(2026, 11, 30, 23, 10)) == paris(2026, 12, 1, 8)
    assert reminders.after_quiet_hours(paris(2026, 11, 30, 5, 0)) == paris(2026, 11, 30, 8)
    assert reminders.after_quiet_hours(paris(2026, 11, 30, 20, 59)) == paris(2026, 11, 30, 20, 59)


def test_a_booking_made_after_the_reminder_time_gets_no_reminder(db, session, association):
    clock = FrozenClock(paris(2026, 11, 29, 19).astimezone(UTC))
    match = add_trip(session, association, pickup_at=paris(2026, 11, 30, 10), booked_at=clock.now())
    session.commit()

    tick(db, clock)

    assert f"match:{match.id}:reminder:eve" not in outbox(db)


def first_queued(
    db, session, association, pickup: datetime, start: datetime, end: datetime, step: timedelta, kind: str
):
    """Tick every ``step`` from ``start`` to ``end``; when was ``kind`` queued and how many rows exist."""
    match = add_trip(session, association, pickup_at=pickup, booked_at=start - timedelta(days=5))
    session.commit()
    key = f"match:{match.id}:reminder:{kind}"
    clock = FrozenClock(start.astimezone(UTC))
    seen = None
    while clock.now() <= end:
        tick(db, clock, "notices")
        if seen is None and key in queued(db):
            seen = clock.now()
        clock.advance(seconds=step.total_seconds())
    rows = [k for k in outbox(db) if k == key]
    return seen, len(rows)


def test_a_reminder_due_at_2h30_on_the_night_clocks_go_back_is_sent_once(db, session, association):
    # 25 October 2026: 03:00 CEST becomes 02:00 CET, so 02:30 happens twice; pickup 03:30 CET.
    pickup = datetime(2026, 10, 25, 2, 30, tzinfo=UTC)
    seen, count = first_queued(
        db,
        session,
        association,
        pickup,
        datetime(2026, 10, 24, 23, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 3, 0, tzinfo=UTC),
        timedelta(minutes=5),
        "1h",
    )
    assert (seen, count) == (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), 1)
    assert seen.astimezone(PARIS).strftime("%H:%M %Z") == "02:30 CET"


def test_a_reminder_due_in_the_hour_skipped_in_spring_is_sent_once(db, session, association):
    # 29 March 2026: 02:00 CET jumps to 03:00 CEST, 02:30 does not exist; pickup 03:30 CEST.
    pickup = paris(2026, 3, 29, 3, 30)
    seen, count = first_queued(
        db,
        session,
        association,
        pickup,
        datetime(2026, 3, 28, 23, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 2, 0, tzinfo=UTC),
        timedelta(minutes=5),
        "1h",
    )
    assert (seen, count) == (pickup.astimezone(UTC) - timedelta(hours=1), 1)
    assert seen.astimezone(PARIS).strftime("%H:%M %Z") == "01:30 CET"


@pytest.mark.parametrize(
    ("pickup", "eve_utc"),
    [
        (paris(2026, 3, 29, 10), datetime(2026, 3, 28, 17, 0, tzinfo=UTC)),  # eve still in winter time
        (paris(2026, 3, 30, 10), datetime(2026, 3, 29, 16, 0, tzinfo=UTC)),  # eve on the change day
        (paris(2026, 10, 25, 10), datetime(2026, 10, 24, 16, 0, tzinfo=UTC)),  # eve still in summer time
        (paris(2026, 10, 26, 10), datetime(2026, 10, 25, 17, 0, tzinfo=UTC)),  # eve on the change day
    ],
)
def test_the_day_before_at_18h_is_18h_in_paris_across_clock_changes(
    db, session, association, pickup, eve_utc
):
    seen, count = first_queued(
        db,
        session,
        association,
        pickup,
        eve_utc - timedelta(hours=2),
        eve_utc + timedelta(hours=2),
        timedelta(minutes=15),
        "eve",
    )
    assert (seen, count, seen.astimezone(PARIS).hour) == (eve_utc, 1, 18)


class TestDownForSixHours:
    """Down from 14:00 to 20:00 on Monday 30 November; restarted at 20:00."""

    @pytest.fixture
    def trips(self, db, session, association):
        booked = paris(2026, 11, 30, 8)  # after the eve of the first two trips
        trips = {
            "past": add_trip(session, association, pickup_at=paris(2026, 11, 30, 15), booked_at=booked),
            "tonight": add_trip(
                session, association, pickup_at=paris(2026, 11, 30, 20, 30), booked_at=booked
            ),
            "tomorrow": add_trip(session, association, pickup_at=paris(2026, 12, 1, 10), booked_at=booked),
        }
        session.commit()
        clock = FrozenClock(paris(2026, 11, 30, 13, 55).astimezone(UTC))
        tick(db, clock)  # the last tick before the outage
        clock.current = paris(2026, 11, 30, 20, 0).astimezone(UTC)
        tick(db, clock)
        tick(db, clock)  # a second tick after restart changes nothing
        return {name: m.id for name, m in trips.items()}

    def test_reminders_still_useful_are_sent(self, db, trips):
        keys = set(queued(db))
        assert {
            f"match:{trips['tonight']}:reminder:1h",
            f"match:{trips['tomorrow']}:reminder:eve",
            f"match:{trips['tomorrow']}:reminder:eve:driver",
        } <= keys

    def test_a_reminder_for_a_trip_already_past_is_not_sent(self, db, trips):
        assert f"match:{trips['past']}:reminder:1h" not in queued(db)

    def test_coordinators_see_each_skipped_reminder_once(self, db, trips):
        skipped = [(e.subject_id, e.details["kind"]) for e in audits(db, "reminder.skipped")]
        assert skipped == [(trips["past"], "reminder.1h")]


def test_notices_to_the_passenger_name_the_resident_and_those_to_the_driver_do_not(db, session, association):
    clock = FrozenClock(paris(2026, 11, 29, 18).astimezone(UTC))
    match = add_trip(
        session, association, pickup_at=paris(2026, 11, 30, 10), booked_at=paris(2026, 11, 20, 9)
    )
    resident_id = session.get_one(Request, match.request_id).resident_id
    session.commit()

    tick(db, clock)

    named = {key.removeprefix(f"match:{match.id}:"): row.resident_id for key, row in queued(db).items()}
    assert named == {
        "confirmed:passenger": resident_id,
        "reminder:eve": resident_id,
        "confirmed:driver": None,
        "reminder:eve:driver": None,
    }
