"""After the trip the passenger is asked once how it went; "1"/"2"/"oui"/"non" is recorded."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from support.factories import add_trip
from support.jobkit import outbox, queued, tick

from carpool.clock import PARIS, FrozenClock
from carpool.models import InboundMessage, Match, Request
from carpool.services import desk
from carpool.services.sms_inbound import handle_inbound

_sids = itertools.count(1)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.fixture
def asked(db, session, association):
    """A trip 10:00–10:40 on Monday 30 November; the question left at 12:40."""
    match = add_trip(
        session, association, pickup_at=paris(2026, 11, 30, 10), booked_at=paris(2026, 11, 20, 9)
    )
    session.commit()
    clock = FrozenClock(paris(2026, 11, 30, 12, 40).astimezone(UTC))
    tick(db, clock)
    return match, clock


def answer(db, match, clock, body):
    with db.session() as session:
        phone = session.execute(
            sa.text(
                "SELECT phone FROM resident r JOIN ride_request q ON q.resident_id = r.id WHERE q.id = :id"
            ),
            {"id": match.request_id},
        ).scalar_one()
        handle_inbound(
            session,
            message_sid=f"SMF{next(_sids):030d}",
            from_phone=phone,
            to_phone="+33639980000",
            body=body,
            clock=clock,
        )
    with db.session() as session:
        match = session.get_one(Match, match.id)
        attention = session.scalars(
            sa.select(InboundMessage.needs_attention).order_by(InboundMessage.id)
        ).all()
        return match.feedback_ok, attention[-1]


def test_the_question_leaves_two_hours_after_dropoff(db, asked):
    match, _clock = asked
    assert (
        queued(db)[f"match:{match.id}:feedback"].body
        == "Le trajet avec Sophie s'est bien passé ? Répondez 1 oui, 2 non"
    )


def test_a_trip_ending_in_the_evening_is_asked_about_the_next_morning(db, session, association):
    match = add_trip(
        session, association, pickup_at=paris(2026, 11, 30, 19), booked_at=paris(2026, 11, 20, 9)
    )
    session.commit()
    clock = FrozenClock(paris(2026, 11, 30, 21, 40).astimezone(UTC))
    tick(db, clock)
    assert f"match:{match.id}:feedback" not in queued(db)

    clock.current = paris(2026, 12, 1, 8).astimezone(UTC)
    tick(db, clock)

    assert f"match:{match.id}:feedback" in queued(db)


@pytest.mark.parametrize(("body", "ok"), [("1", True), ("oui", True), ("2", False), ("Non", False)])
def test_the_answer_is_recorded_on_the_match(db, asked, body, ok):
    match, clock = asked

    assert answer(db, match, clock, body) == (ok, not ok)  # a "no" goes to a coordinator


def test_a_trip_that_went_badly_is_listed_for_the_coordinators(db, asked):
    match, clock = asked
    answer(db, match, clock, "2")
    with db.session() as session:
        association_id = session.get_one(Request, match.request_id).association_id
        (message,) = desk.messages_to_handle(session, association_id).shown
    assert (message.reason, message.text) == ("le trajet s'est mal passé", "2")


def test_the_resident_is_thanked(db, asked):
    match, clock = asked
    answer(db, match, clock, "1")

    replies = [row.body for row in outbox(db, "inbound:").values()]
    assert replies == ["Merci pour votre réponse, bonne journée !"]


def test_a_second_answer_is_not_taken_for_feedback(db, asked):
    match, clock = asked
    answer(db, match, clock, "1")

    assert answer(db, match, clock, "2")[0] is True
