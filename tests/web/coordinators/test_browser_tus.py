"""The pages of the transport d'utilité sociale in Chromium, on the demo data: no axe-core
violation, nothing wider than a 360 px phone or cut at 200 % zoom, and the report prints."""

from __future__ import annotations

import pytest
from test_browser_pages import demo, open_logged_in, wider_than_screen  # noqa: F401 - demo is a fixture

pytestmark = pytest.mark.browser

PAGES = (
    "/coordination/rapport-annuel",
    "/coordination/rapport-annuel?annee=1900",
    "/coordination/communes",
    "/coordination/habitants/{resident}/eligibilite",
    "/coordination/reglages/rapport-annuel",
    "/coordination/chiffres",
)


def test_the_pages_pass_axe_core(browser, live_server, demo, clock, axe_violations, screenshot):  # noqa: F811
    context, page = open_logged_in(browser, live_server, clock)
    found = {}
    for path in PAGES:
        response = page.goto(live_server + path.format(**demo))
        assert response is not None and response.status in (200, 422), path
        violations = axe_violations(page)
        if violations:
            found[path] = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
        screenshot(
            page, "tus-" + path.split("?")[0].strip("/").replace("/", "-").replace("{", "").replace("}", "")
        )
    context.close()
    assert found == {}


@pytest.mark.parametrize(("width", "scale"), [(360, 1), (640, 2)])
def test_the_pages_fit_a_phone_and_200_percent_zoom(browser, live_server, demo, clock, width, scale):  # noqa: F811
    assert (
        wider_than_screen(browser, live_server, clock, [p.format(**demo) for p in PAGES], width, scale) == {}
    )


def test_the_annual_report_prints_without_its_forms(browser, live_server, demo, clock):  # noqa: F811
    context, page = open_logged_in(browser, live_server, clock)
    page.goto(live_server + "/coordination/rapport-annuel")
    page.emulate_media(media="print")
    assert page.get_by_role("heading", name="Rapport annuel — transport d'utilité sociale").is_visible()
    assert not page.get_by_role("button", name="Afficher").is_visible()
    context.close()
