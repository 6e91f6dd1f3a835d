"""In a real browser: a voice message on the first page, heard through the server, then "Fait";
the phone line's settings at 360 px. Pages scanned with axe-core (WCAG 2.1 A and AA)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support.coordkit import second_factor_in_browser
from support.factories import PASSWORD, add_coordinator, add_resident
from support.voicekit import app_with_twilio

from carpool.models import Role, VoiceMessage

pytestmark = pytest.mark.browser
AUDIO = b"ID3 fake mp3 audio"


@pytest.fixture
def app(db, clock, fake_twilio):
    return app_with_twilio(db, clock, fake_twilio)


def log_in(page, live_server: str, clock, email: str) -> None:
    page.goto(live_server + "/coordination/connexion")
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Se connecter").click()
    second_factor_in_browser(page, clock)


def no_violations(page, axe_violations) -> None:
    violations = axe_violations(page)
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]


def test_a_voice_message_is_listed_heard_and_marked_done(
    page, live_server, db, association, clock, fake_twilio, axe_violations, screenshot
):
    with db.sessionmaker() as session:
        add_coordinator(session, association)
        jeanne = add_resident(session, association, first_name="Jeanne")
        message = VoiceMessage(
            association_id=association.id,
            call_sid="CA" + "1" * 32,
            recording_sid="RE" + "2" * 32,
            duration_s=41,
            resident_id=jeanne.id,
            from_phone=jeanne.phone,
            created_at=clock.now() - timedelta(minutes=5),
        )
        session.add(message)
        session.commit()
        fake_twilio.recordings[message.recording_sid] = AUDIO
    log_in(page, live_server, clock, "claire@example.org")

    item = page.locator("li", has_text="Jeanne Delpech").filter(has=page.locator("audio"))
    assert item.is_visible()
    assert page.get_by_role("heading", name="1 message vocal à écouter").is_visible()
    no_violations(page, axe_violations)
    screenshot(page, "coordination-message-vocal")
    link = page.get_by_role("link", name="Écouter le message de Jeanne Delpech (fichier MP3)")
    heard = page.request.get(live_server + link.get_attribute("href"))
    assert (heard.status, heard.body()) == (200, AUDIO)

    page.get_by_role("button", name="Fait : message vocal de Jeanne Delpech", exact=False).click()
    assert page.get_by_text("Message vocal traité").is_visible()
    assert page.locator("audio").count() == 0


def test_the_phone_line_settings_work_at_360_px_with_the_keyboard(
    page, live_server, db, association, clock, axe_violations, screenshot
):
    with db.sessionmaker() as session:
        add_coordinator(session, association, email="admin@example.org", role=Role.ADMIN)
    page.set_viewport_size({"width": 360, "height": 800})
    log_in(page, live_server, clock, "admin@example.org")
    page.goto(live_server + "/coordination/reglages#line-title")

    page.get_by_label("Téléphone de permanence").fill("06 39 98 55 55")
    page.get_by_label("Lundi : ouverture").fill("9h")
    page.get_by_label("Lundi : fermeture").fill("8h")
    with page.expect_navigation():
        page.get_by_role("button", name="Enregistrer la ligne téléphonique").click()
    assert page.get_by_text("Le lundi, l'ouverture doit précéder la fermeture.").first.is_visible()
    no_violations(page, axe_violations)

    page.get_by_label("Lundi : fermeture").fill("12:00")
    page.get_by_label("Lundi : fermeture").press("Enter")
    page.wait_for_load_state()
    assert page.get_by_text("Les réglages de la ligne téléphonique sont enregistrés.").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    screenshot(page, "reglages-ligne-360px")
