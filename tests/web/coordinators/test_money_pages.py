"""Money pages of the dashboard: settings section, payments, a resident's statement, expenses, receipts."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from support.drivers_kit import count, log_in, one, text
from support.factories import add_coordinator, add_resident
from support.moneykit import book, drive, meridian_driver

from carpool.clock import PARIS
from carpool.models import Association, AuditEvent, LegParticipation, MonthlyExpenses, Role
from carpool.services import expenses

OCT = datetime(2026, 10, 14, 9, 0, tzinfo=PARIS)
MONEY = {
    "money-participation_enabled": "y",
    "money-participation_per_km": "0,20",
    "money-legal_address": "1 place de la Mairie, 46160 Cajarc",
    "money-legal_number": "W461001234",
    "money-legal_object": "Transport solidaire des habitants",
}


@pytest.fixture
def admin_client(client, no_csrf, session, association):
    log_in(client, add_coordinator(session, association, email="admin@example.org", role=Role.ADMIN))
    return client


@pytest.fixture
def paying(session, association, clock):
    """Participation at 0.20 €/km; Jeanne's leg of 14 October driven (14.5 km → 2.90 €)."""
    association.participation_enabled, association.participation_per_km = True, Decimal("0.20")
    jeanne = add_resident(session, association)
    drive(book(session, association, clock, OCT, resident=jeanne), session, clock)
    session.commit()
    return jeanne


def test_the_settings_page_has_the_money_section(admin_client):
    page = text(admin_client.get("/coordination/reglages"))

    assert "Participation des habitants (€ par km)" in page
    assert "Au plus 0,32 € par km (arrêté du 17 octobre 2019)" in page


def test_an_admin_saves_the_participation_and_the_receipts_identity(admin_client, session, association):
    response = admin_client.post("/coordination/reglages/argent", data=MONEY)

    assert response.status_code == 302
    saved = one(session, sa.select(Association).where(Association.id == association.id))
    assert (saved.participation_enabled, saved.participation_per_km, saved.legal_number) == (
        True,
        Decimal("0.200"),
        "W461001234",
    )


@pytest.mark.parametrize(
    ("price", "words"),
    [("0,35", "ne peut pas dépasser 0,32 € (plafond de l'arrêté du 17 octobre 2019)"), ("-1", "négatif")],
)
def test_a_price_above_the_cap_or_negative_is_refused_and_nothing_is_saved(
    admin_client, session, association, price, words
):
    response = admin_client.post(
        "/coordination/reglages/argent", data={**MONEY, "money-participation_per_km": price}
    )

    assert response.status_code == 422
    assert words in text(response)
    saved = one(session, sa.select(Association).where(Association.id == association.id))
    assert (saved.participation_enabled, saved.legal_number) == (False, "")
    assert count(session, AuditEvent) == 0


def test_coordinators_cannot_change_the_money_settings(coord_client):
    assert coord_client.post("/coordination/reglages/argent", data=MONEY).status_code == 403


def test_a_coordinator_records_a_payment_on_the_participations_page(coord_client, session, paying):
    page = text(coord_client.get("/coordination/participations?mois=2026-10"))
    row = one(session, sa.select(LegParticipation))

    response = coord_client.post(
        f"/coordination/participations/{row.id}/paiement",
        data={f"p{row.id}-method": "transfer", f"p{row.id}-paid_on": "2026-10-20", "mois": "2026-10"},
    )

    assert "Dû pour les trajets effectués : <strong>2,90 €</strong>" in page and "Jeanne Delpech" in page
    assert response.status_code == 302
    paid = one(session, sa.select(LegParticipation))
    assert (paid.paid_on, paid.method.value) == (date(2026, 10, 20), "transfer")
    assert "Payé le 20/10/2026 (virement)" in text(
        coord_client.get("/coordination/participations?mois=2026-10")
    )


def test_a_payment_without_a_method_is_refused_in_french(coord_client, session, paying):
    row = one(session, sa.select(LegParticipation))

    response = coord_client.post(
        f"/coordination/participations/{row.id}/paiement",
        data={f"p{row.id}-method": "", f"p{row.id}-paid_on": "2026-10-20", "mois": "2026-10"},
        follow_redirects=True,
    )

    assert "Choisissez le moyen de paiement" in text(response)
    assert one(session, sa.select(LegParticipation)).paid_on is None


def test_a_residents_statement_page_and_csv(coord_client, paying):
    page = text(coord_client.get(f"/coordination/habitants/{paying.id}/participations?mois=2026-10"))
    csv_file = coord_client.get(f"/coordination/habitants/{paying.id}/participations.csv?mois=2026-10")

    assert "Relevé de participation – octobre 2026" in page and "Reste à payer" in page
    assert csv_file.mimetype == "text/csv"
    lines = csv_file.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[1] == "2026-10-14;Jeanne Delpech;Cajarc → Cahors;aller;14,5;0,200;2,90;;"


def test_another_associations_resident_statement_is_404(client, no_csrf, session, other_association, paying):
    log_in(client, add_coordinator(session, other_association, email="autre@example.org"))

    assert client.get(f"/coordination/habitants/{paying.id}/participations").status_code == 404
    row = one(session, sa.select(LegParticipation))
    assert client.post(f"/coordination/participations/{row.id}/paiement", data={}).status_code == 404


def test_a_coordinator_settles_a_drivers_month_and_sees_the_receipts(
    coord_client, session, association, clock
):
    driver = meridian_driver(session, association)
    drive(book(session, association, clock, OCT, driver=driver), session, clock)
    row = expenses.choose(session, driver, date(2026, 10, 1), "waive", actor="d", clock=clock)
    session.commit()

    listed = text(coord_client.get("/coordination/frais?annee=2026"))
    settled = coord_client.post(f"/coordination/frais/{row.id}/reglement")
    receipts = text(coord_client.get("/coordination/frais/recus?annee=2026"))
    csv_text = coord_client.get("/coordination/frais/recus.csv?annee=2026").get_data(as_text=True)

    assert "abandon (don)" in listed and "30,58 €" in listed  # 57.8 km × 0.529
    assert settled.status_code == 302
    assert one(session, sa.select(MonthlyExpenses)).settled_at is not None
    assert "Montant des frais abandonnés : <strong>30,58 €</strong> pour 57,8 km." in receipts
    assert "Il manque dans les Réglages" in receipts
    assert "2026;Delmas;Sophie;57,8;30,58;2026-10-14;Lot Mobilité;;" in csv_text


def test_settling_needs_the_forms_token(client, session, association, clock):
    driver = meridian_driver(session, association)
    drive(book(session, association, clock, OCT, driver=driver), session, clock)
    row = expenses.choose(session, driver, date(2026, 10, 1), "reimburse", actor="d", clock=clock)
    session.commit()
    log_in(client, add_coordinator(session, association))

    assert client.post(f"/coordination/frais/{row.id}/reglement").status_code == 400
    assert one(session, sa.select(MonthlyExpenses)).settled_at is None


def test_the_menu_leads_to_the_money_pages(coord_client):
    page = text(coord_client.get("/coordination/participations"))

    assert 'href="/coordination/frais"' in page and 'aria-current="page"' in page
