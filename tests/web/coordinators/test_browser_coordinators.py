"""A coordinator in a real browser: an unmatched request, a near-miss proposed by SMS (seen by the
fake Twilio), a phone-in request from scratch, the figures with their chart and the CSV export.

Every page is scanned with axe-core (WCAG 2.1 A and AA) and saved in test-results/.
"""

from __future__ import annotations

import csv
import io
from contextlib import contextmanager
from datetime import time, timedelta

import pyotp
import pytest
import sqlalchemy as sa
from support.factories import (
    PASSWORD,
    TOTP_SECRET,
    add_coordinator,
    add_driver,
    add_offer,
    add_request,
    add_resident,
)
from support.fake_twilio import FakeTwilio

from carpool.models import Match, MatchStatus, Request, RequestStatus, Role
from carpool.notify.backends import TwilioBackend
from carpool.notify.dispatcher import dispatch_once
from carpool.services.sms_inbound import handle_inbound
from carpool.text import display_phone

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("coordinator")]


@contextmanager
def rows_of(db):
    """A plain session for the test's own rows, committed at the end (builders may commit too)."""
    session = db.sessionmaker()
    try:
        yield session
        session.commit()
    finally:
        session.close()


def accessible(page, axe_violations, screenshot, name: str) -> None:
    violations = axe_violations(page)
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
    screenshot(page, name)


def log_in(page, live_server: str, clock) -> None:
    """The password, then the second factor (a coordinator who sees health data must have one)."""
    page.goto(live_server + "/coordination/")
    page.get_by_label("Adresse e-mail").fill("claire@example.org")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    with page.expect_navigation():  # a loaded machine answers later than is_visible() looks
        page.get_by_role("button", name="Se connecter").click()
    page.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(TOTP_SECRET).at(clock.now()))
    with page.expect_navigation():
        page.get_by_role("button", name="Valider").click()


def test_an_unmatched_request_its_reason_and_a_near_miss_proposed_by_sms(
    page, live_server, db, association, clock, axe_violations, screenshot
):
    with rows_of(db) as session:
        add_offer(session, add_driver(session, association), depart=time(8, 0))
        add_request(session, association, appointment=time(8, 30))  # the driver reaches Cahors ~9:15
    log_in(page, live_server, clock)
    assert page.get_by_role("heading", name="Aujourd'hui et cette semaine").is_visible()
    accessible(page, axe_violations, screenshot, "coordination-aujourdhui")

    page.keyboard.press("Tab")  # the first stop of the keyboard is the skip link, and it shows
    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"

    page.get_by_role("link", name="Sans solution").click()
    row = page.get_by_role("row").filter(has_text="Jeanne Delpech")
    assert "aucun trajet dans le créneau" in row.inner_text()
    assert "hors du créneau de" in row.inner_text()
    accessible(page, axe_violations, screenshot, "coordination-sans-solution")

    row.get_by_role("link", name="Traiter").click()
    accessible(page, axe_violations, screenshot, "coordination-demande")
    page.get_by_role("button", name="Proposer par SMS").first.click()
    assert page.get_by_text("La proposition est envoyée par SMS").is_visible()

    with FakeTwilio() as fake:
        backend = TwilioBackend(
            fake.account_sid, fake.auth_token, from_number="+33639980000", api_base_url=fake.base_url
        )
        assert dispatch_once(db, backend, clock).sent == 1
        (sms,) = fake.messages
    assert sms["to"] == "+33639981234"
    assert "Sophie vous prend à" in sms["body"] and "arrivée" in sms["body"] and "OUI ou NON" in sms["body"]


def test_a_phone_in_request_from_scratch_booked_on_the_phone(
    page, live_server, db, association, clock, axe_violations, screenshot
):
    with rows_of(db) as session:
        add_offer(session, add_driver(session, association), depart=time(8, 0))
    log_in(page, live_server, clock)
    page.get_by_role("link", name="Demande par téléphone").click()
    page.get_by_label("Nom ou numéro de téléphone").fill("Lacombe")
    page.get_by_role("button", name="Chercher").click()
    assert page.get_by_text("Personne ne correspond").is_visible()
    accessible(page, axe_violations, screenshot, "coordination-appel-recherche")

    page.get_by_label("Prénom").fill("Odette")
    page.get_by_label("Nom", exact=True).fill("Lacombe")
    page.get_by_label("Téléphone", exact=True).fill("06 39 97 55 44")
    page.get_by_label("Commune de domicile").fill("Cajarc (46160)")
    page.get_by_label("La personne accepte").check()
    page.get_by_role("button", name="Ajouter et continuer").click()

    accessible(page, axe_violations, screenshot, "coordination-appel-trajet")
    page.get_by_label("Destination").fill("Cahors")
    page.get_by_label("Jour").fill("2026-12-01")
    page.get_by_label("Heure du rendez-vous").fill("10:00")
    page.get_by_role("button", name="Enregistrer et voir les solutions").click()

    assert page.get_by_role("heading", name="Solutions trouvées").is_visible()
    page.get_by_role("button", name="Réserver (accord au téléphone)").first.click()
    assert page.get_by_text("C'est réservé").is_visible()
    with db.session() as session:
        match = session.scalars(sa.select(Match)).one()
        assert match.status is MatchStatus.CONFIRMED
        assert session.scalars(sa.select(Request.status)).one() is RequestStatus.MATCHED


def test_the_figures_page_has_a_chart_and_the_csv_opens_with_the_right_columns(
    page, live_server, db, association, clock, axe_violations, screenshot
):
    with rows_of(db) as session:
        driver = add_driver(session, association)
        request = add_request(session, association)
        request.status = RequestStatus.DONE
        pickup = clock.now() - timedelta(days=3)
        session.add(
            Match(
                request_id=request.id, driver_id=driver.id, seats=1, status=MatchStatus.COMPLETED,
                pickup_at=pickup, dropoff_at=pickup + timedelta(minutes=40),
            )
        )  # fmt: skip
    log_in(page, live_server, clock)
    page.get_by_role("link", name="Chiffres").click()
    chart = page.locator("svg[role='img']").first
    assert chart.is_visible() and chart.get_attribute("aria-labelledby")
    accessible(page, axe_violations, screenshot, "coordination-chiffres")

    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger le tableau (CSV)").click()
    content = download.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(content), delimiter=";"))
    assert rows[0][:4] == ["mois", "trajets_effectues", "personnes_servies", "passagers"]
    assert "co2_evite_kg" in rows[0] and "demandes_non_satisfaites" in rows[0]
    november = next(r for r in rows if r[0] == "2026-11")
    assert november[1:3] == ["1", "1"]


def test_a_text_asking_to_be_called_is_called_back_then_marked_done_by_keyboard(
    page, live_server, db, association, clock, axe_violations, screenshot
):
    with rows_of(db) as session:
        jeanne = add_resident(session, association, first_name="Jeanne")
        phone = jeanne.phone
        handle_inbound(
            session,
            message_sid="SMkeyboard",
            from_phone=phone,
            to_phone="+33639980000",
            body="AIDE",
            clock=clock,
        )
    log_in(page, live_server, clock)
    section = page.get_by_role("region", name="À traiter")
    assert "« AIDE »" in section.inner_text() and "demande à être rappelé(e)" in section.inner_text()

    page.get_by_role("button", name="Rappeler Jeanne Delpech").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("link", name=display_phone(phone)).get_attribute("href") == f"tel:{phone}"
    accessible(page, axe_violations, screenshot, "coordination-rappel-prevu")

    page.get_by_role("button", name="Fait : message de Jeanne Delpech", exact=False).focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Aucun message à traiter" in page.get_by_role("region", name="À traiter").inner_text()


def test_an_admin_without_a_second_factor_enrols_before_anything_else(
    page, live_server, db, association, clock, axe_violations, screenshot
):
    with rows_of(db) as session:
        add_coordinator(session, association, email="admin@example.org", role=Role.ADMIN, totp=False)
    page.goto(live_server + "/coordination/")
    page.get_by_label("Adresse e-mail").fill("admin@example.org")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    assert page.get_by_role("heading", name="Activer le second facteur").is_visible()
    accessible(page, axe_violations, screenshot, "coordination-second-facteur")
    key = page.locator("code").first.inner_text()
    page.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(key).at(clock.now()))
    page.get_by_role("button", name="Activer le second facteur").click()

    assert page.get_by_role("heading", name="Aujourd'hui et cette semaine").is_visible()
