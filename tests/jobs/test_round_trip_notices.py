"""A round trip's notices: one confirmation naming both legs, reminders saying which way and who drives."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from support.factories import CAHORS, FIGEAC, TUESDAY, add_driver, add_offer, add_request
from support.jobkit import outbox, queued, tick

from carpool.clock import PARIS, FrozenClock
from carpool.models import Driver, Leg, Match, MatchStatus
from carpool.notify.gsm import segments
from carpool.services import booking_flow, matching, offers, reminders


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


@pytest.fixture
def out_only(db, session, association, clock):
    """The way there on Sophie's offer (confirmed at once), the way back with Paul who must answer."""
    request = add_request(
        session, association, return_at=datetime.combine(TUESDAY.date(), time(11, 30), PARIS)
    )
    offer = add_offer(session, add_driver(session, association), depart=time(8, 0))
    paul = add_driver(session, association, first_name="Paul")
    session.commit()
    assert request.return_at is not None
    there = matching.RideOption(
        offer.driver_id, offer.id, request.earliest, request.earliest + timedelta(minutes=40), 2.0
    )
    home = matching.RideOption(
        paul.id, None, request.return_at, request.return_at + timedelta(minutes=40), 0.0, Leg.BACK
    )
    option = matching.RoundTripOption(there, home)
    out, back = booking_flow.book_round_trip(session, request, option, actor="test", clock=clock)
    session.commit()
    assert (out.status, back.status) == (MatchStatus.CONFIRMED, MatchStatus.PROPOSED)
    return request, out, back, paul


def _out_only_sms(db, request):
    return outbox(db, prefix=f"request:{request.id}:out-only")


def test_a_way_back_declined_tells_the_resident_the_way_there_holds_once(db, session, clock, out_only):
    request, _out, back, paul = out_only
    assert not _out_only_sms(db, request)  # the way back may still come: nothing yet

    offers.decline(session, paul, back.id, clock)
    session.commit()
    reminders.tell_out_only(session, session.get_one(Match, back.id), clock.now())  # a second run
    session.commit()
    tick(db, clock, "notices")
    tick(db, clock, "notices")

    (sms,) = _out_only_sms(db, request).values()
    assert sms.body.startswith("C'est confirmé pour l'aller : Sophie vous prend mardi 1er déc. à 7h.")
    assert "Paul ne peut pas vous ramener à 11h30" in sms.body
    assert segments(sms.body) == 1
    assert not [k for k in outbox(db) if ":confirmed:passenger" in k]
    assert not outbox(db, prefix=f"match:{back.id}:declined")  # one text, not two


def test_a_way_back_nobody_answered_tells_the_resident_once(db, clock, out_only):
    request, out, back, _paul = out_only

    clock.advance(hours=13)
    tick(db, clock, "expire_proposals")
    tick(db, clock, "expire_proposals")

    with db.session() as check:
        assert check.get_one(Match, back.id).status is MatchStatus.EXPIRED
        assert check.get_one(Match, out.id).status is MatchStatus.CONFIRMED
    (sms,) = _out_only_sms(db, request).values()
    assert "Le retour n'a pas encore de conducteur" in sms.body
    # Expired at 23:00 Paris: the SMS waits for the morning, as the other notices do.
    at = sms.next_attempt_at
    assert at is not None
    assert (at if at.tzinfo else at.replace(tzinfo=UTC)) == datetime(2026, 11, 24, 8, 0, tzinfo=PARIS)


def test_a_round_trip_already_confirmed_gets_no_out_only_sms(db, session, clock, booked):
    out, back = booked
    tick(db, clock, "notices")
    driver = session.get_one(Driver, back.driver_id)

    offers.cancel_offer(session, driver, back.offer_id, "panne", clock)
    session.commit()

    assert not outbox(db, prefix=f"request:{out.request_id}:out-only")
