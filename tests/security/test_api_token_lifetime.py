"""API tokens end with a compromise and with time: revoked on password change, reset and
log-out, expired after API_TOKEN_TTL_DAYS, their last use shown (issue 15, finding 5)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from support.drivers_kit import log_in, text
from support.factories import PASSWORD

from carpool.services import accounts

pytestmark = pytest.mark.usefixtures("cheap_passwords")

NEW_PASSWORD = "nouveau-mot-de-passe-77"


def api_me(client, headers):
    return client.get("/api/v1/me", headers=headers)


def test_a_password_change_revokes_the_api_tokens(app, no_csrf, driver, api_headers):
    browser = app.test_client()
    log_in(browser, driver)

    changed = browser.post(
        "/conducteurs/compte",
        data={"current_password": PASSWORD, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )

    assert changed.status_code == 302
    assert api_me(app.test_client(), api_headers).status_code == 401


def test_a_password_reset_revokes_the_api_tokens(app, session, driver, api_headers, clock):
    secret = accounts.start_password_reset(session, driver, clock, timedelta(minutes=30))
    assert secret is not None
    assert accounts.finish_password_reset(session, secret, NEW_PASSWORD, clock) is not None
    session.commit()

    assert api_me(app.test_client(), api_headers).status_code == 401


def test_logging_out_of_every_session_revokes_the_api_tokens(app, no_csrf, driver, api_headers):
    browser = app.test_client()
    log_in(browser, driver)
    assert api_me(app.test_client(), api_headers).status_code == 200

    browser.post("/conducteurs/deconnexion")

    assert api_me(app.test_client(), api_headers).status_code == 401


def test_a_token_expires_after_ninety_days_with_a_json_401(client, driver, api_headers, clock):
    clock.advance(days=89)
    assert api_me(client, api_headers).status_code == 200

    clock.advance(days=1, seconds=1)
    expired = api_me(client, api_headers)

    assert expired.status_code == 401
    assert expired.is_json and "expiré" in expired.get_json()["error"]


def test_the_lifetime_comes_from_the_api_token_ttl_setting(db, clock, session, driver, monkeypatch):
    from carpool import create_app

    monkeypatch.setenv("API_TOKEN_TTL_DAYS", "7")
    app = create_app({"TESTING": True, "DATABASE": db, "CLOCK": clock, "SECRET_KEY": "test"})
    app.config["WTF_CSRF_ENABLED"] = False
    browser = app.test_client()
    log_in(browser, driver)
    page = text(browser.post("/conducteurs/compte/jetons", data={"name": "Agenda"}))
    secret = page.split('<code class="token">', 1)[1].split("<", 1)[0]
    headers = {"Authorization": f"Bearer {secret}"}

    clock.advance(days=6)
    assert api_me(browser, headers).status_code == 200
    clock.advance(days=1, seconds=1)
    assert api_me(browser, headers).status_code == 401


def test_the_account_page_shows_last_use_and_expiry(client, driver, api_headers, clock):
    clock.advance(days=3)
    assert api_me(client, api_headers).status_code == 200
    log_in(client, driver)

    page = text(client.get("/conducteurs/compte"))

    assert re.search(r"utilisé le \w+ 26 novembre 2026", page)
    assert re.search(r"expire le \w+ 21 février 2027", page)
