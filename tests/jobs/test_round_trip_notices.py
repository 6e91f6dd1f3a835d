"""A round trip's notices: one confirmation naming both legs, reminders saying which way and who drives."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from support.factories import CAHORS, FIGEAC, TUESDAY, add_driver, add_offer, add_request
from support.jobkit import outbox, queued, tick

from carpool.clock import PARIS, FrozenClock
from carpool.models import Match, MatchStatus
from carpool.services import booking_flow, matching


@pytest.fixture
def booked(db, session, association, clock):
    request = add_request(
        session, association, return_at=datetime.combine(TUESDAY.date(), time(11, 30), PARIS)
    )
    add_offer(session, add_driver(session, association), depart=time(8, 0))
    add_offer(
        session,
        add_driver(session, association, first_name="Anne"),
        depart=time(11, 30),
        origin=CAHORS,
        destination=FIGEAC,
    )
    session.commit()
    (option,) = matching.round_trip_options(session, request, clock)
    out, back = booking_flow.book_round_trip(session, request, option, actor="test", clock=clock)
    out.created_at = back.created_at = clock.now()  # booked on the fixture's Monday, a week before
    session.commit()
    return out, back


def test_the_resident_gets_one_confirmation_naming_both_drivers(db, clock, booked):
    out, back = booked

    tick(db, clock)

    to_resident = [k for k in queued(db) if k.endswith("passenger") or ":passenger:" in k]
    assert to_resident == [f"match:{out.id}:confirmed:passenger:back:{back.id}"]
    body = queued(db)[to_resident[0]].body
    assert body.startswith("C'est confirmé : Sophie vous prend mardi 1er déc. à ")
    assert "retour à 11h30 avec Anne" in body


def test_the_eve_reminders_say_which_way_and_who_drives(db, booked):
    out, back = booked
    clock = FrozenClock(datetime(2026, 11, 30, 18, 0, tzinfo=PARIS).astimezone(UTC))

    tick(db, clock)

    notices = queued(db)
    assert notices[f"match:{out.id}:reminder:eve"].body.startswith("Rappel aller : Sophie passe vous prendre")
    assert notices[f"match:{back.id}:reminder:eve"].body.startswith(
        "Rappel retour : Anne vous ramène mardi 1er déc. à 11h30, départ de Cahors."
    )
    assert notices[f"match:{back.id}:reminder:eve:driver"].body.startswith("Rappel : vous ramenez Jeanne")


def test_a_volunteer_who_waits_and_never_answers_costs_the_resident_one_sms(db, session, association, clock):
    request = add_request(
        session, association, return_at=datetime.combine(TUESDAY.date(), time(11, 30), PARIS)
    )
    philippe = add_driver(session, association, first_name="Philippe")
    session.commit()
    (option,) = matching._pairs(
        request,
        matching.RideOption(
            philippe.id, None, request.earliest, request.earliest + timedelta(minutes=40), 60.0
        ),
        [],
    )
    out, back = booking_flow.book_round_trip(session, request, option, actor="test", clock=clock)
    session.commit()

    clock.advance(hours=72)
    tick(db, clock)

    with db.session() as check:
        assert {check.get_one(Match, m.id).status for m in (out, back)} == {MatchStatus.EXPIRED}
    expired = outbox(db, prefix=f"request:{request.id}:expired")
    assert len(expired) == 1
