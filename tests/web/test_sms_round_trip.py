"""A resident asks for a trip there and back by SMS: both legs proposed, booked and confirmed together."""

from __future__ import annotations

from datetime import date, time

import pytest
import sqlalchemy as sa
from support.factories import CAHORS, CAJARC, FIGEAC, add_driver, add_offer, add_resident, post_text

from carpool.models import Leg, Match, MatchStatus, OutboundMessage, Request, Resident

RESIDENT_PHONE = "+33639981234"
NEXT_TUESDAY = date(2026, 11, 24)  # the clock fixture says Monday 23 November 2026, 10:00 in Paris
ASK = "rdv hopital de cahors mardi 10h retour 11h30"


@pytest.fixture
def resident(session, association) -> Resident:
    resident = add_resident(session, association, phone=RESIDENT_PHONE)
    session.commit()
    return resident


@pytest.fixture
def both_ways(session, association) -> None:
    """Sophie drives to Cahors in the morning, Anne drives home to Figeac at noon."""
    add_offer(session, add_driver(session, association), depart=time(8, 0), day=NEXT_TUESDAY)
    anne = add_driver(session, association, first_name="Anne")
    add_offer(session, anne, depart=time(11, 30), origin=CAHORS, destination=FIGEAC, day=NEXT_TUESDAY)
    session.commit()


def text(client, body: str):
    return post_text(client, body, RESIDENT_PHONE)


def replies(db) -> list[str]:
    with db.session() as session:
        rows = session.scalars(
            sa.select(OutboundMessage)
            .where(OutboundMessage.to_phone == RESIDENT_PHONE)
            .order_by(OutboundMessage.id)
        )
        return [row.body for row in rows]


def matches(db) -> list[Match]:
    with db.session() as session:
        return list(session.scalars(sa.select(Match).order_by(Match.id)))


def test_a_proposal_restates_the_appointment_and_both_legs(client, db, resident, both_ways):
    text(client, ASK)

    (proposal,) = replies(db)
    assert proposal.startswith("Mardi 24 nov., Cahors, rdv 10h : Sophie vous prend à ")
    assert ", retour 11h30 avec Anne. OUI ou NON ?" in proposal


def test_oui_books_both_legs_and_the_confirmation_names_both_drivers(client, db, resident, both_ways):
    text(client, ASK)
    text(client, "OUI")

    legs = {m.leg: m for m in matches(db)}
    assert set(legs) == {Leg.OUT, Leg.BACK}
    assert {m.status for m in legs.values()} == {MatchStatus.CONFIRMED}
    confirmation = replies(db)[-1]
    assert confirmation.startswith("C'est confirmé : Sophie vous prend mardi 24 nov. à ")
    assert "retour à 11h30 avec Anne" in confirmation


def test_without_a_way_back_nothing_is_booked_and_the_reply_restates_the_request(
    client, db, session, association, resident
):
    add_offer(session, add_driver(session, association), depart=time(8, 0), day=NEXT_TUESDAY)
    session.commit()

    text(client, ASK)

    assert replies(db) == [
        "Bien noté : mardi 24 nov., Cahors, rdv 10h, retour 11h30. Nous cherchons un conducteur et vous "
        "recontactons vite."
    ]
    assert matches(db) == []


def test_a_volunteer_who_waits_is_asked_once_and_his_yes_confirms_both_legs(
    client, db, session, association, resident, clock
):
    from carpool.models import AvailabilitySlot
    from carpool.services import offers

    philippe = add_driver(session, association, insee=CAJARC, first_name="Philippe", radius_km=20)
    session.add(
        AvailabilitySlot(
            driver_id=philippe.id, weekday=NEXT_TUESDAY.weekday(), starts_at=time(7, 0), ends_at=time(14, 0)
        )
    )
    session.commit()

    text(client, ASK)
    assert ", retour 11h30 avec Philippe. OUI ou NON ?" in replies(db)[0]
    text(client, "OUI")
    out, back = matches(db)
    assert (out.leg, back.leg) == (Leg.OUT, Leg.BACK)
    assert {out.status, back.status} == {MatchStatus.PROPOSED}

    with db.session() as own:
        offers.accept(own, own.get_one(type(philippe), philippe.id), out.id, clock)
        own.commit()

    assert {m.status for m in matches(db)} == {MatchStatus.CONFIRMED}
    assert "retour à 11h30 avec Philippe" in replies(db)[-1]


def test_a_request_for_the_way_back_is_kept(client, db, resident, both_ways):
    text(client, ASK)

    with db.session() as session:
        request = session.scalars(sa.select(Request)).one()
        assert request.return_at is not None
        assert request.one_way is False
