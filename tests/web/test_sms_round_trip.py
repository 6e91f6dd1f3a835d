"""A resident asks for a trip there and back by SMS: both legs proposed, booked and confirmed together."""

from __future__ import annotations

from datetime import date, time

import pytest
import sqlalchemy as sa
from support.factories import (
    CAHORS,
    CAJARC,
    FIGEAC,
    RESIDENT_PHONE,
    add_driver,
    add_offer,
    post_text,
)

from carpool.models import Driver, Leg, Match, MatchStatus, OutboundMessage, Request

NEXT_TUESDAY = date(2026, 11, 24)  # the clock fixture says Monday 23 November 2026, 10:00 in Paris
ASK = "rdv hopital de cahors mardi 10h retour 11h30"


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
        "Bien noté : mardi 24 nov., Centre hospitalier de Cahors, rdv 10h, retour 11h30. "
        "Nous cherchons un conducteur et vous recontactons vite."
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


def test_ma_fille_me_ramene_accepts_a_one_way_trip(client, db, resident, both_ways):
    text(client, ASK)
    text(client, "Ma fille me ramène")

    one_way, proposal = replies(db)[1:]
    assert one_way == "C'est noté : mardi 24 nov., pas de retour à prévoir."
    assert "retour" not in proposal
    with db.session() as session:
        assert session.scalars(sa.select(Request.one_way)).one() is True
    text(client, "OUI")
    assert [m.leg for m in matches(db)] == [Leg.OUT]
    assert replies(db)[-1].startswith("C'est confirmé : Sophie passe vous prendre")


def test_cancelling_the_way_back_asks_about_the_way_there(client, db, resident, both_ways):
    text(client, ASK)
    text(client, "OUI")

    text(client, "annuler le retour")

    assert replies(db)[-1].startswith("Votre retour mardi 24 nov. à ")
    assert "Et l'aller à " in replies(db)[-1]
    assert "avec Sophie : on le garde ? OUI ou ANNULER." in replies(db)[-1]
    status = {m.leg: m.status for m in matches(db)}
    assert status == {Leg.OUT: MatchStatus.CONFIRMED, Leg.BACK: MatchStatus.CANCELLED}


def test_oui_keeps_the_other_leg(client, db, resident, both_ways):
    text(client, ASK)
    text(client, "OUI")
    text(client, "annuler le retour")

    text(client, "OUI")

    assert replies(db)[-1].startswith("C'est noté : l'aller mardi 24 nov. à ")
    assert {m.leg: m.status for m in matches(db)}[Leg.OUT] is MatchStatus.CONFIRMED


def test_annuler_after_one_leg_cancels_the_other_and_the_request(client, db, resident, both_ways):
    text(client, ASK)
    text(client, "OUI")
    text(client, "annuler le retour")

    text(client, "ANNULER")

    assert {m.status for m in matches(db)} == {MatchStatus.CANCELLED}
    with db.session() as session:
        assert session.scalars(sa.select(Request.status)).one().value == "cancelled"


def test_annuler_cancels_both_legs_of_the_next_trip(client, db, resident, both_ways):
    text(client, ASK)
    text(client, "OUI")

    text(client, "annuler")

    assert {m.status for m in matches(db)} == {MatchStatus.CANCELLED}
    assert replies(db)[-1].startswith("Votre trajet mardi 24 nov. à ")


def test_the_way_back_can_be_asked_for_afterwards(client, db, resident, both_ways):
    text(client, "rdv hopital de cahors mardi 10h")
    text(client, "OUI")
    assert [m.leg for m in matches(db)] == [Leg.OUT]

    text(client, "et pour le retour ? 11h30")
    assert replies(db)[-1].startswith("Mardi 24 nov., Cahors, rdv 10h : Anne vous ramène à 11h")
    text(client, "OUI")

    assert {m.leg: m.status for m in matches(db)} == {
        Leg.OUT: MatchStatus.CONFIRMED,
        Leg.BACK: MatchStatus.CONFIRMED,
    }
    assert "retour à 11h30 avec Anne" in replies(db)[-1]


def test_a_way_back_before_the_appointment_is_refused_plainly(client, db, resident, both_ways):
    text(client, "rdv hopital de cahors mardi 10h")
    text(client, "OUI")

    text(client, "et pour le retour ? 9h")

    assert replies(db)[-1].startswith("Le retour doit suivre le rendez-vous (10h).")


def test_a_new_time_for_the_way_back_frees_the_old_one_and_restates_the_request(
    client, db, resident, both_ways
):
    text(client, ASK)
    text(client, "OUI")

    text(client, "le retour plutôt à 16h30")

    status = {m.leg: m.status for m in matches(db)}
    assert status == {Leg.OUT: MatchStatus.CONFIRMED, Leg.BACK: MatchStatus.CANCELLED}
    assert replies(db)[-1].startswith(
        "Bien noté : mardi 24 nov., Centre hospitalier de Cahors, rdv 10h, retour 16h30."
    )
    with db.session() as session:
        anne = session.scalars(sa.select(Driver).where(Driver.first_name == "Anne")).one()
        told = session.scalars(sa.select(OutboundMessage.body).where(OutboundMessage.to_phone == anne.phone))
        assert any("a annulé le trajet" in body for body in told)
