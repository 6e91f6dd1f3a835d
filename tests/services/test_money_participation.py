"""Residents' participation: fixed at booking, due once driven, paid; the yearly total; settings.

Hand-computed fixtures: the pickup and the drop-off are 0.1° of latitude apart on one
meridian, 6371 km × π/180 × 0.1 = 11.1195 km as the crow flies, × 1.3 = 14.455 → 14.5 km.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from support.factories import add_resident
from support.moneykit import book, drive

from carpool.clock import PARIS
from carpool.errors import InvalidInput
from carpool.models import AuditEvent, LegParticipation, Match
from carpool.services import money_settings, participation


def enable(association, price: str) -> None:
    association.participation_enabled = True
    association.participation_per_km = Decimal(price)


def booked(session, association, clock, pickup_at: datetime, *, resident=None) -> Match:
    return book(session, association, clock, pickup_at, resident=resident)


def driven(session, match: Match, clock) -> Match:
    return drive(match, session, clock)


def row_of(session, match: Match) -> LegParticipation:
    return session.scalars(sa.select(LegParticipation).where(LegParticipation.match_id == match.id)).one()


NOV = datetime(2026, 11, 25, 9, 0, tzinfo=PARIS)


def test_a_booked_leg_gets_its_participation_when_the_association_asks_one(session, association, clock):
    enable(association, "0.20")

    row = row_of(session, booked(session, association, clock, NOV))

    assert (row.km, row.price_per_km, row.amount) == (Decimal("14.5"), Decimal("0.200"), Decimal("2.90"))


def test_nothing_is_asked_when_participation_is_off(session, association, clock):
    booked(session, association, clock, NOV)

    assert session.scalar(sa.select(sa.func.count()).select_from(LegParticipation)) == 0


def test_the_amount_is_rounded_half_up_to_the_cent(session, association, clock):
    enable(association, "0.05")  # 14.5 × 0.05 = 0.725

    assert row_of(session, booked(session, association, clock, NOV)).amount == Decimal("0.73")


def test_the_price_of_the_booking_day_stays_when_the_price_changes(session, association, clock):
    enable(association, "0.32")
    match = booked(session, association, clock, NOV)
    association.participation_per_km = Decimal("0.10")

    assert row_of(session, match).amount == Decimal("4.64")  # 14.5 × 0.32


def test_the_yearly_total_counts_only_legs_driven_that_year_in_paris_time(session, association, clock):
    enable(association, "0.20")
    driven(session, booked(session, association, clock, NOV), clock)
    driven(session, booked(session, association, clock, datetime(2026, 12, 31, 23, 30, tzinfo=PARIS)), clock)
    driven(session, booked(session, association, clock, datetime(2027, 1, 1, 0, 30, tzinfo=PARIS)), clock)
    booked(session, association, clock, NOV + timedelta(days=1))  # booked, never driven

    assert participation.participation_total(session, association.id, 2026) == Decimal("5.80")
    assert participation.participation_total(session, association.id, 2027) == Decimal("2.90")
    assert participation.participation_total(session, association.id, 2025) == Decimal("0.00")


def test_a_coordinator_records_a_payment_and_it_is_audited(session, association, clock):
    enable(association, "0.20")
    row = row_of(session, driven(session, booked(session, association, clock, NOV), clock))

    participation.mark_paid(
        session, row, method="cheque", paid_on=date(2026, 11, 26), today=date(2026, 11, 27), actor="user:1"
    )

    assert (row.paid_on, row.method.value, row.recorded_by) == (date(2026, 11, 26), "cheque", "user:1")
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "participation.paid")).one()
    assert event.details["amount"] == "2.90"


@pytest.mark.parametrize(
    ("method", "paid_on", "field", "words"),
    [
        ("gold", date(2026, 11, 26), "method", "espèces, chèque ou virement"),
        ("cash", date(2026, 11, 28), "paid_on", "dans le futur"),
        ("cash", None, "paid_on", "date du paiement"),
    ],
)
def test_a_bad_payment_is_refused_in_french_and_nothing_is_saved(
    session, association, clock, method, paid_on, field, words
):
    enable(association, "0.20")
    row = row_of(session, driven(session, booked(session, association, clock, NOV), clock))

    with pytest.raises(InvalidInput) as refused:
        participation.mark_paid(
            session, row, method=method, paid_on=paid_on, today=date(2026, 11, 27), actor="u"
        )

    assert words in refused.value.errors[field]
    assert row.paid_on is None and row.method is None


def test_a_leg_not_yet_driven_cannot_be_paid(session, association, clock):
    enable(association, "0.20")
    row = row_of(session, booked(session, association, clock, NOV))

    with pytest.raises(InvalidInput) as refused:
        participation.mark_paid(
            session, row, method="cash", paid_on=date(2026, 11, 1), today=NOV.date(), actor="u"
        )

    assert "rien n'est dû" in refused.value.errors[""]


def test_a_residents_month_statement_and_its_csv(session, association, clock):
    enable(association, "0.20")
    jeanne = add_resident(session, association)
    first = row_of(session, driven(session, booked(session, association, clock, NOV, resident=jeanne), clock))
    driven(session, booked(session, association, clock, NOV + timedelta(days=2), resident=jeanne), clock)
    driven(session, booked(session, association, clock, NOV), clock)  # someone else
    driven(
        session, booked(session, association, clock, NOV + timedelta(days=7), resident=jeanne), clock
    )  # Dec.
    participation.mark_paid(session, first, method="cash", paid_on=NOV.date(), today=NOV.date(), actor="u")

    statement = participation.month_statement(session, association, date(2026, 11, 1), jeanne)
    lines = participation.to_csv(statement).splitlines()

    assert [line.day.day for line in statement.lines] == [25, 27]
    assert (statement.total, statement.paid, statement.outstanding) == (
        Decimal("5.80"),
        Decimal("2.90"),
        Decimal("2.90"),
    )
    assert lines[0] == "date;habitant;trajet;sens;km;prix_km_eur;participation_eur;payee_le;moyen"
    assert lines[1] == "2026-11-25;Jeanne Delpech;Cajarc → Cahors;aller;14,5;0,200;2,90;2026-11-25;espèces"
    assert lines[-1] == "total;;;;;;5,80;;"


# --- settings ------------------------------------------------------------------------------


def settings(**changes: object) -> money_settings.MoneyInput:
    values: dict = {
        "participation_enabled": True,
        "participation_per_km": "0,25",
        "legal_address": "1 place de la Mairie, 46160 Cajarc",
        "legal_number": "W461001234",
        "legal_object": "Transport solidaire des habitants",
    }
    return money_settings.MoneyInput(**{**values, **changes})


def test_the_money_settings_are_saved_and_audited(session, association):
    money_settings.update_money_settings(session, association, settings(), actor="user:1")

    assert (association.participation_enabled, association.participation_per_km) == (True, Decimal("0.250"))
    assert association.legal_number == "W461001234"
    event = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "association.money_changed")
    ).one()
    assert event.details["participation_per_km"] == {"before": "0.000", "after": "0.250"}


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"participation_per_km": "0,33"}, "participation_per_km", "ne peut pas dépasser 0,32 €"),
        ({"participation_per_km": "-0,10"}, "participation_per_km", "ne peut pas être négatif"),
        ({"participation_per_km": "beaucoup"}, "participation_per_km", "par exemple 0,20"),
        ({"participation_per_km": "0"}, "participation_per_km", "Indiquez le montant"),
        ({"legal_number": "12345"}, "legal_number", "SIREN (9 chiffres)"),
    ],
)
def test_bad_money_settings_are_refused_in_french_and_nothing_changes(
    session, association, changes, field, words
):
    with pytest.raises(InvalidInput) as refused:
        money_settings.update_money_settings(session, association, settings(**changes), actor="user:1")

    assert words in refused.value.errors[field]
    assert (association.participation_enabled, association.participation_per_km) == (False, Decimal("0"))
    assert association.legal_number == ""
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == 0


def test_the_legal_cap_itself_is_accepted(session, association):
    money_settings.update_money_settings(
        session, association, settings(participation_per_km="0,32 €"), actor="u"
    )

    assert association.participation_per_km == Decimal("0.320")
