"""Every dashboard page on the demo data, in Chromium: no axe-core violation (WCAG 2.1 A and AA),
nothing wider than a 360 px phone, nothing cut at 200 % zoom. Screenshots in test-results/."""

from __future__ import annotations

import pyotp
import pytest
import sqlalchemy as sa
from support.coordkit import demo_association_of
from support.factories import TEST_BOX

from carpool.models import Driver, NamedPlace, Request, RequestStatus, Resident, VoiceMessage
from carpool.services.demo import DEMO_PASSWORD, DEMO_TOTP_SECRET, seed_demo

pytestmark = pytest.mark.browser

PAGES = (
    "/coordination/",
    "/coordination/sans-solution",
    "/coordination/demandes/{request}",
    "/coordination/appel?q=a",
    "/coordination/appel?habitant={resident}",
    "/coordination/habitants",
    "/coordination/habitants/nouveau",
    "/coordination/habitants/{resident}",
    "/coordination/habitants/{resident}/modifier",
    "/coordination/habitants/{resident}/donnees",
    "/coordination/habitants/{caller}/donnees",  # calls received, placed, voice messages
    "/coordination/habitants/{resident}/effacer",
    "/coordination/conducteurs",
    "/coordination/conducteurs/{driver}",
    "/coordination/lieux",
    "/coordination/lieux/nouveau",
    "/coordination/carte",
    "/coordination/chiffres",
    "/coordination/journal",
    "/coordination/reglages",
    "/coordination/compte",
)


@pytest.fixture
def demo(db, clock):
    with db.session() as session:
        seed_demo(session, TEST_BOX, clock=clock)
    with db.session() as session:
        lot = demo_association_of(session)
        return {
            "request": session.scalar(
                sa.select(Request.id)
                .where(Request.status == RequestStatus.OPEN, Request.association_id == lot)
                .order_by(Request.id)
                .limit(1)
            ),
            "resident": session.scalar(
                sa.select(Resident.id).where(Resident.association_id == lot).order_by(Resident.id).limit(1)
            ),
            "caller": session.scalar(
                sa.select(VoiceMessage.resident_id)  # the Lot's, seeded first: a call missed, one made
                .where(VoiceMessage.handled_at.is_(None))
                .order_by(VoiceMessage.id)
                .limit(1)
            ),
            "driver": session.scalar(
                sa.select(Driver.id).where(Driver.association_id == lot).order_by(Driver.id).limit(1)
            ),
            "place": session.scalar(sa.select(NamedPlace.id).order_by(NamedPlace.id).limit(1)),
        }


def open_logged_in(browser, live_server: str, clock, **options):  # type: ignore[no-untyped-def]
    """The demo admin logs in: password, then the code of the demo's documented TOTP key."""
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris", **options)
    page = context.new_page()
    page.route("https://tile.openstreetmap.org/**", lambda route: route.abort())  # no network here
    page.goto(live_server + "/coordination/connexion")
    page.get_by_label("Adresse e-mail").fill("coord@demo.test")
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_label("Code à 6 chiffres").fill(pyotp.TOTP(DEMO_TOTP_SECRET).at(clock.now()))
    with page.expect_navigation():  # is_visible() right after must see the next page
        page.get_by_role("button", name="Valider").click()
    return context, page


def test_every_page_passes_axe_core(browser, live_server, demo, clock, axe_violations, screenshot):
    context, page = open_logged_in(browser, live_server, clock)
    found = {}
    for path in PAGES:
        response = page.goto(live_server + path.format(**demo))
        assert response is not None and response.status == 200, path
        violations = axe_violations(page)
        if violations:
            found[path] = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
        name = "coordination-" + (
            path.strip("/").split("?")[0].replace("/", "-").replace("{", "").replace("}", "") or "accueil"
        )
        screenshot(page, f"{name}-page")
    context.close()
    assert found == {}


# 200 % zoom on a 1280 px screen is what the browser then lays out: a 640 CSS px viewport at 2 dppx.
@pytest.mark.parametrize(("width", "scale"), [(360, 1), (640, 2)])
def test_every_page_fits_a_phone_and_200_percent_zoom(browser, live_server, demo, clock, width, scale):
    assert (
        wider_than_screen(browser, live_server, clock, [p.format(**demo) for p in PAGES], width, scale) == {}
    )


def wider_than_screen(browser, live_server, clock, paths, width: int, scale: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The pages (by path) that scroll sideways on a ``width`` px screen at ``scale`` dppx, by how much."""
    viewport = {"width": width, "height": 800}
    context, page = open_logged_in(browser, live_server, clock, viewport=viewport, device_scale_factor=scale)
    wider = overflowing(page, [live_server + path for path in paths])
    context.close()
    return {url.removeprefix(live_server): overflow for url, overflow in wider.items()}


def overflowing(page, urls: list[str]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """The pages wider than the viewport, and by how many CSS pixels."""
    wider = {}
    for url in urls:
        page.goto(url)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 0:
            wider[url] = overflow
    return wider
