"""The landing page in a real browser: readable on a phone, at 200 % zoom, with the keyboard."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_landing_page_has_no_accessibility_violations(
    page, live_server, association, axe_violations, screenshot
):
    page.goto(live_server + "/")

    assert axe_violations(page) == []
    screenshot(page, "accueil")


@pytest.mark.parametrize(("width", "zoom"), [(360, 1), (1280, 2)])
def test_landing_page_fits_a_phone_and_200_percent_zoom(
    browser, live_server, association, screenshot, width, zoom
):
    context = browser.new_context(
        viewport={"width": width, "height": 800}, device_scale_factor=1, locale="fr-FR"
    )
    page = context.new_page()
    page.goto(live_server + "/")
    if zoom != 1:
        page.evaluate(f"document.body.style.zoom = '{zoom * 100}%'")

    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")

    assert overflow <= 0
    assert page.get_by_text("06 39 98 00 00").first.is_visible()
    screenshot(page, f"accueil-{width}px-zoom{zoom}")
    context.close()


def test_the_first_tab_offers_to_skip_to_the_content(page, live_server, association):
    page.goto(live_server + "/")
    page.keyboard.press("Tab")

    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "contenu"
