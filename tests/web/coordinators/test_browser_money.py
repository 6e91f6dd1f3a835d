"""The money pages in Chromium: no axe-core violation (WCAG 2.1 A and AA), nothing wider than a
360 px phone, nothing cut at 200 % zoom; the printable ones also in print media. Screenshots in
test-results/."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from support.factories import PASSWORD, add_driver_account, add_resident
from support.moneykit import book, drive
from test_browser_coordinators import log_in, rows_of
from test_browser_pages import overflowing

from carpool.clock import PARIS
from carpool.models import Driver, LegParticipation
from carpool.services import expenses, participation

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("coordinator")]

OCT = datetime(2026, 10, 14, 9, 0, tzinfo=PARIS)
PAGES = (
    "/coordination/participations?mois=2026-10",
    "/coordination/habitants/{resident}/participations?mois=2026-10",
    "/coordination/frais?annee=2026",
    "/coordination/frais/recus?annee=2026",
)


@pytest.fixture
def money(db, association, clock):
    """Jeanne's October leg (paid) and Sophie's waived October, driven by the driver who logs in."""
    with rows_of(db) as session:
        user = add_driver_account(session, association, clock)
    with rows_of(db) as session:
        session.get(type(association), association.id).participation_enabled = True
        session.get(type(association), association.id).participation_per_km = Decimal("0.20")
        session.get(type(association), association.id).legal_number = "W461001234"
        jeanne = add_resident(session, association, first_name="Jeanne")
        driver = session.get_one(Driver, user.driver_id)
        drive(book(session, association, clock, OCT, resident=jeanne, driver=driver), session, clock)
        drive(
            book(session, association, clock, OCT.replace(day=16), resident=jeanne, driver=driver),
            session,
            clock,
        )
        first = session.query(LegParticipation).order_by(LegParticipation.id).first()
        participation.mark_paid(
            session, first, method="cheque", paid_on=date(2026, 10, 20), today=date(2026, 11, 1), actor="t"
        )
        expenses.choose(session, driver, date(2026, 10, 1), "waive", actor="t", clock=clock)
        return {"resident": jeanne.id, "driver_email": user.email}


def scan(page, live_server, paths, axe_violations, screenshot, prefix: str) -> dict:
    found = {}
    for path in paths:
        response = page.goto(live_server + path)
        assert response is not None and response.status == 200, path
        violations = axe_violations(page)
        if violations:
            found[path] = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
        screenshot(page, prefix + path.split("?")[0].strip("/").replace("/", "-"))
    return found


def test_the_money_pages_pass_axe_core_on_screen_and_in_print(
    page, live_server, money, clock, axe_violations, screenshot
):
    log_in(page, live_server, clock)
    paths = [p.format(**money) for p in PAGES]

    on_screen = scan(page, live_server, paths, axe_violations, screenshot, "argent-")
    page.emulate_media(media="print")
    printed = scan(
        page, live_server, paths[1:2] + paths[3:], axe_violations, screenshot, "argent-impression-"
    )

    assert on_screen == {} and printed == {}


def test_the_drivers_statement_with_its_choice_passes_axe_core(
    page, live_server, money, axe_violations, screenshot
):
    page.goto(live_server + "/conducteurs/connexion")
    page.get_by_label("Adresse e-mail").fill(money["driver_email"])
    page.get_by_label("Mot de passe").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Se connecter").click()

    page.goto(live_server + "/conducteurs/indemnites?mois=2026-10")
    page.get_by_label("d'y renoncer", exact=False).check()
    violations = axe_violations(page)
    screenshot(page, "argent-conducteur-choix")
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer mon choix").click()

    assert violations == []
    assert page.get_by_text("Votre choix pour 10/2026 est enregistré : abandon (don).").is_visible()


# 200 % zoom on a 1280 px screen is what the browser then lays out: a 640 CSS px viewport at 2 dppx.
@pytest.mark.parametrize(("width", "scale"), [(360, 1), (640, 2)])
def test_the_money_pages_fit_a_phone_and_200_percent_zoom(browser, live_server, money, clock, width, scale):
    context = browser.new_context(
        locale="fr-FR",
        timezone_id="Europe/Paris",
        viewport={"width": width, "height": 800},
        device_scale_factor=scale,
    )
    page = context.new_page()
    log_in(page, live_server, clock)
    wider = overflowing(page, [live_server + path.format(**money) for path in PAGES])
    context.close()
    assert wider == {}
