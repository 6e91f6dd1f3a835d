"""The series job proposes each coming occurrence to its resident, once, as a texted request would be."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from support.factories import RESIDENT_PHONE, TUESDAY, add_driver, add_offer, add_request, post_text
from support.jobkit import outbox, tick

from carpool.clock import PARIS
from carpool.config import Settings
from carpool.models import (
    Conversation,
    ConversationState,
    Match,
    MatchStatus,
    Request,
    SeriesState,
)
from carpool.notify.gsm import segments
from carpool.services import desk
from carpool.services import series as series_service


@pytest.fixture
def weekly(session, association, clock):
    """Jeanne's weekly Tuesday appointment in Cahors at 10:00; now Monday 30 Nov, 04:30 (the job's hour)."""
    first = add_request(session, association, appointment=time(10, 0))
    plan = series_service.SeriesInput(weekdays=(1,), arrive_by=time(10, 0), first_day=TUESDAY.date())
    series = series_service.create(session, first, plan, actor="user:1")
    session.commit()
    clock.advance(hours=7 * 24 - 5.5)
    assert clock.now().astimezone(PARIS) == datetime(2026, 11, 30, 4, 30, tzinfo=PARIS)
    return first, series


def _proposals(db) -> dict:
    return {k: row for k, row in outbox(db, prefix="request:").items() if k.endswith(":series-proposal")}


def test_an_occurrence_due_this_week_is_proposed_once_after_quiet_hours(
    db, session, association, clock, weekly
):
    first, _series = weekly
    add_offer(session, add_driver(session, association), depart=time(8, 0))
    session.commit()

    tick(db, clock, "series")
    tick(db, clock, "series")

    (key, sms) = _proposals(db).popitem()
    assert key == f"request:{first.id}:series-proposal"
    assert sms.body.startswith("Mardi 1er déc., Cahors, rdv 10h : Sophie vous prend à ")
    assert sms.body.endswith("OUI ou NON ?")
    assert segments(sms.body) == 1
    at = sms.next_attempt_at
    assert at is not None
    assert (at if at.tzinfo else at.replace(tzinfo=UTC)) == datetime(2026, 11, 30, 8, 0, tzinfo=PARIS)
    assert not [k for k in _proposals(db) if k != key]  # later Tuesdays wait for their week


def test_the_resident_books_the_proposed_occurrence_with_oui(client, db, session, association, clock, weekly):
    first, _series = weekly
    add_offer(session, add_driver(session, association), depart=time(8, 0))
    session.commit()
    tick(db, clock, "series")

    clock.advance(hours=4)
    post_text(client, "oui", RESIDENT_PHONE)

    with db.session() as check:
        (match,) = check.scalars(sa.select(Match).where(Match.request_id == first.id)).all()
        assert match.status is MatchStatus.CONFIRMED


def test_a_paused_series_gets_no_proposal(db, session, association, clock, weekly):
    _first, series = weekly
    add_offer(session, add_driver(session, association), depart=time(8, 0))
    series_service.pause(session, series, None, actor="user:1", today=clock.now().astimezone(PARIS).date())
    session.commit()

    tick(db, clock, "series")

    assert session.get_one(type(series), series.id).state is SeriesState.PAUSED
    assert not _proposals(db)


def test_an_occurrence_nobody_can_serve_waits_in_sans_solution_with_its_reason(
    db, session, association, clock, weekly
):
    first, _series = weekly

    tick(db, clock, "series")

    assert not _proposals(db)
    session.expire_all()
    assert session.get_one(Request, first.id).unmatched_reason == "no_offer"
    page = desk.unserved(session, association.id, clock.now(), page=1)
    assert first.id in [row.request.id for row in page.open]


def test_a_resident_in_the_middle_of_a_conversation_is_proposed_on_the_next_run(
    db, session, association, clock, weekly
):
    first, _series = weekly
    add_offer(session, add_driver(session, association), depart=time(8, 0))
    session.add(
        Conversation(
            association_id=association.id,
            phone=RESIDENT_PHONE,
            state=ConversationState.COLLECTING,
            draft={"destination": "46042"},
            options=[],
            unknown_replies=0,
            updated_at=clock.now() - timedelta(hours=47),
        )
    )
    session.commit()

    tick(db, clock, "series")
    assert not _proposals(db)

    clock.advance(hours=2)  # the half-written request is forgotten after 48 hours
    tick(db, clock, "series")
    assert list(_proposals(db)) == [f"request:{first.id}:series-proposal"]


def test_proposing_can_be_turned_off(db, session, association, clock, weekly):
    add_offer(session, add_driver(session, association), depart=time(8, 0))
    session.commit()

    tick(db, clock, "series", settings=Settings(series_propose_days=0))

    assert not _proposals(db)
