"""A way back lost while the way there holds: the resident gets one text, with the word for that leg."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa
from support.factories import CAHORS, FIGEAC, RESIDENT_PHONE, TUESDAY, add_driver, add_offer, add_request
from support.jobkit import tick

from carpool.clock import PARIS
from carpool.models import Leg, Match, MatchStatus, OutboundMessage
from carpool.notify.gsm import segments
from carpool.services import booking_flow, bookings, matching, offers


def _texts_to_resident(db) -> list[str]:
    with db.session() as session:
        return list(
            session.scalars(
                sa.select(OutboundMessage.body)
                .where(OutboundMessage.to_phone == RESIDENT_PHONE, OutboundMessage.body.is_not(None))
                .order_by(OutboundMessage.id)
            )
        )


def _book(session, request, clock, out_driver, out_offer, back_driver, back_offer=None):
    assert request.return_at is not None
    there = matching.RideOption(
        out_driver.id,
        out_offer.id if out_offer else None,
        request.earliest,
        request.earliest + timedelta(minutes=40),
        2.0,
    )
    home = matching.RideOption(
        back_driver.id,
        back_offer.id if back_offer else None,
        request.return_at,
        request.return_at + timedelta(minutes=40),
        0.0,
        Leg.BACK,
    )
    out, back = booking_flow.book_round_trip(
        session, request, matching.RoundTripOption(there, home), actor="test", clock=clock
    )
    session.commit()
    return out, back


@pytest.fixture
def round_trip(session, association):
    request = add_request(
        session, association, return_at=datetime.combine(TUESDAY.date(), time(11, 30), PARIS)
    )
    sophie = add_driver(session, association)
    paul = add_driver(session, association, first_name="Paul")
    session.commit()
    return request, sophie, paul


def test_a_way_back_declined_costs_the_resident_one_text_that_says_ramener(db, session, clock, round_trip):
    request, sophie, paul = round_trip
    _out, back = _book(session, request, clock, sophie, add_offer(session, sophie), paul)
    before = len(_texts_to_resident(db))

    offers.decline(session, paul, back.id, clock)
    session.commit()
    tick(db, clock)
    tick(db, clock)

    (text,) = _texts_to_resident(db)[before:]
    assert "Paul ne peut pas vous ramener à 11h30" in text
    assert "Sophie vous prend" in text
    assert segments(text) == 1


def test_a_way_back_declined_before_the_way_there_is_confirmed_says_ramener(db, session, clock, round_trip):
    request, sophie, paul = round_trip
    # Both legs with volunteers who must answer: nothing is confirmed yet.
    _out, back = _book(session, request, clock, sophie, None, paul)
    before = len(_texts_to_resident(db))

    offers.decline(session, paul, back.id, clock)
    session.commit()
    tick(db, clock)

    (text,) = _texts_to_resident(db)[before:]
    assert text.startswith("Paul ne peut pas vous ramener mardi 1er déc. à 11h30.")
    assert segments(text) == 1


def test_a_way_there_declined_still_says_emmener(db, session, clock, round_trip):
    request, sophie, paul = round_trip
    out, _back = _book(session, request, clock, sophie, None, paul)
    before = len(_texts_to_resident(db))

    offers.decline(session, sophie, out.id, clock)
    session.commit()

    (text,) = _texts_to_resident(db)[before:]
    assert text.startswith("Sophie ne peut pas vous emmener")


def test_a_way_back_nobody_answered_costs_one_text(db, session, clock, round_trip):
    request, sophie, paul = round_trip
    _book(session, request, clock, sophie, add_offer(session, sophie), paul)
    before = len(_texts_to_resident(db))

    clock.advance(hours=13)
    tick(db, clock)
    tick(db, clock)

    (text,) = _texts_to_resident(db)[before:]
    assert "Le retour n'a pas encore de conducteur" in text


def test_a_way_back_a_coordinator_cancels_costs_one_text_naming_nobody(db, session, clock, round_trip):
    request, sophie, paul = round_trip
    _out, back = _book(session, request, clock, sophie, add_offer(session, sophie), paul)
    before = len(_texts_to_resident(db))

    bookings.transition(
        session, session.get_one(Match, back.id), MatchStatus.CANCELLED, actor="coordinator:1", clock=clock
    )
    session.commit()
    tick(db, clock)

    (text,) = _texts_to_resident(db)[before:]
    assert "Le retour n'a pas encore de conducteur" in text
    assert "Paul" not in text


def test_a_driver_cancelling_a_confirmed_way_back_sends_one_text_that_says_ramener(
    db, session, association, clock, round_trip
):
    request, sophie, _paul = round_trip
    anne = add_driver(session, association, first_name="Anne")
    home = add_offer(session, anne, depart=time(11, 30), origin=CAHORS, destination=FIGEAC)
    _out, back = _book(session, request, clock, sophie, add_offer(session, sophie), anne, home)
    assert back.status is MatchStatus.CONFIRMED
    tick(db, clock)
    before = len(_texts_to_resident(db))

    offers.cancel_offer(session, anne, home.id, "panne", clock)
    session.commit()
    tick(db, clock)

    (text,) = _texts_to_resident(db)[before:]
    assert text.startswith("Anne ne peut plus vous ramener mardi 1er déc. à 11h30.")
    assert segments(text) == 1
