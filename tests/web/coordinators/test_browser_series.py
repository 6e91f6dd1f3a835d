"""The recurring appointments' pieces of the dashboard, in Chromium: no axe-core violation, and
nothing wider than a 360 px phone (the resident's series table, the phone-in recurrence)."""

from __future__ import annotations

import pyotp
import pytest
import sqlalchemy as sa
from support.coordkit import demo_association_of
from support.factories import TEST_BOX

from carpool.clock import PARIS
from carpool.models import Request, RequestStatus
from carpool.services import series as series_service
from carpool.services.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, seed_demo

pytestmark = pytest.mark.browser


@pytest.fixture
def resident_id(db, clock):
    """The demo, and a series (Mon/Wed/Fri, back at 12:30) made from one of its open requests."""
    with db.session() as session:
        seed_demo(session, TEST_BOX, clock=clock)
    with db.session() as session:
        lot = demo_association_of(session)
        open_in_lot = sa.select(Request).where(
            Request.status == RequestStatus.OPEN, Request.association_id == lot
        )
        first = session.scalars(open_in_lot.order_by(Request.id).limit(1)).one()
        latest = first.latest.astimezone(PARIS)
        plan = series_service.SeriesInput(
            weekdays=(0, 2, 4), arrive_by=latest.time(), first_day=latest.date(), every_weeks=2
        )
        series_service.create(session, first, plan, actor="user:1")
        return first.resident_id


def logged_in_page(browser, live_server: str, clock, **options):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", **options)
    page = context.new_page()
    page.goto(live_server + "/coordination/connexion")
    page.get_by_label("Adresse e-mail").fill("coord@demo.test")
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(DEMO_TOTP_SECRET).at(clock.now()))
    with page.expect_navigation():
        page.get_by_role("button", name="Valider").click()
    return context, page


PAGES = ("/coordination/habitants/{}", "/coordination/appel?habitant={}")


def test_series_pieces_pass_axe_core(browser, live_server, resident_id, clock, axe_violations):
    context, page = logged_in_page(browser, live_server, clock)
    found = {}
    for path in PAGES:
        page.goto(live_server + path.format(resident_id))
        found[path] = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in axe_violations(page)]
    page.goto(live_server + PAGES[0].format(resident_id))
    shown = page.content()
    context.close()

    assert "Mettre en pause" in shown
    assert {path: v for path, v in found.items() if v} == {}


def test_series_pieces_fit_a_phone(browser, live_server, resident_id, clock):
    context, page = logged_in_page(browser, live_server, clock, viewport={"width": 360, "height": 800})
    wider = {}
    for path in PAGES:
        page.goto(live_server + path.format(resident_id))
        wider[path] = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
    context.close()

    assert {path: w for path, w in wider.items() if w > 0} == {}
