"""Sessions: a fresh one at every log-in, voided server-side at log-out or password change,
unforgeable; log-in throttles shared by every worker process."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from support.coordkit import second_factor
from support.factories import PASSWORD

from carpool.db import Database
from carpool.services import accounts

pytestmark = pytest.mark.usefixtures("cheap_passwords")

DRIVER_HOME, DRIVER_LOGIN = "/conducteurs/", "/conducteurs/connexion"
COORD_HOME, COORD_LOGIN = "/coordination/", "/coordination/connexion"
NEW_PASSWORD = "nouveau-mot-de-passe-77"


def log_in(client, login_url: str, email: str, password: str = PASSWORD):
    """The log-in form, then the second factor when the account has one."""
    response = client.post(login_url, data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    if response.headers["Location"].endswith("/connexion/code"):
        response = second_factor(client)
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return response


def cookie(client) -> str:
    found = client.get_cookie("session")
    assert found is not None, "no session cookie"
    return found.value


def with_cookie(app, value: str):
    """Another browser that presents this exact cookie value."""
    other = app.test_client()
    other.set_cookie("session", value)
    return other


def is_logged_in(client, home: str) -> bool:
    return client.get(home).status_code == 200


def test_the_session_planted_before_log_in_is_replaced(app, no_csrf, driver):
    browser = app.test_client()
    with browser.session_transaction() as planted:
        planted["planted_by"] = "attacker"
    before = cookie(browser)

    log_in(browser, DRIVER_LOGIN, driver.email)

    assert cookie(browser) != before
    with browser.session_transaction() as current:
        assert "planted_by" not in current
    assert not is_logged_in(with_cookie(app, before), DRIVER_HOME)


def test_a_coordinator_log_in_starts_a_fresh_session_too(app, no_csrf, admin):
    browser = app.test_client()
    with browser.session_transaction() as planted:
        planted["planted_by"] = "attacker"

    log_in(browser, COORD_LOGIN, admin.email)

    with browser.session_transaction() as current:
        assert set(current) <= {
            "user_id",
            "session_version",
            "login_at",
            "seen_at",
            "_fresh",
            "_flashes",
            "csrf_token",
        }
        assert current["user_id"] == admin.id


@pytest.mark.parametrize(
    ("home", "login_url", "logout_url", "who"),
    [
        (DRIVER_HOME, DRIVER_LOGIN, "/conducteurs/deconnexion", "driver"),
        (COORD_HOME, COORD_LOGIN, "/coordination/deconnexion", "admin"),
    ],
)
def test_log_out_voids_every_session_of_the_account(app, no_csrf, request, home, login_url, logout_url, who):
    user = request.getfixturevalue(who)
    laptop, phone = app.test_client(), app.test_client()
    log_in(laptop, login_url, user.email)
    log_in(phone, login_url, user.email)
    stolen = cookie(laptop)

    laptop.post(logout_url)

    assert not is_logged_in(laptop, home)
    assert not is_logged_in(phone, home)
    assert not is_logged_in(with_cookie(app, stolen), home)


def test_a_driver_password_change_voids_the_other_sessions(app, no_csrf, driver):
    laptop, phone = app.test_client(), app.test_client()
    log_in(laptop, DRIVER_LOGIN, driver.email)
    log_in(phone, DRIVER_LOGIN, driver.email)
    old = cookie(laptop)

    response = laptop.post(
        "/conducteurs/compte",
        data={"current_password": PASSWORD, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert is_logged_in(laptop, DRIVER_HOME)
    assert not is_logged_in(phone, DRIVER_HOME)
    assert not is_logged_in(with_cookie(app, old), DRIVER_HOME)


def test_a_coordinator_password_change_voids_the_other_sessions(app, no_csrf, admin):
    office, home = app.test_client(), app.test_client()
    log_in(office, COORD_LOGIN, admin.email)
    log_in(home, COORD_LOGIN, admin.email)

    response = office.post(
        "/coordination/compte",
        data={
            "pw-current_password": PASSWORD,
            "pw-password": NEW_PASSWORD,
            "pw-password_confirm": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302
    assert is_logged_in(office, COORD_HOME)
    assert not is_logged_in(home, COORD_HOME)


def signed_with(secret: str, payload: dict) -> str:
    stranger = Flask("stranger")
    stranger.secret_key = secret
    serializer = SecureCookieSessionInterface().get_signing_serializer(stranger)
    assert serializer is not None
    return serializer.dumps(payload)


def session_of(user, clock) -> dict:
    now = int(clock.now().timestamp())
    return {"user_id": user.id, "session_version": user.session_version, "login_at": now, "seen_at": now}


def test_a_cookie_signed_with_another_secret_is_ignored(app, driver, clock):
    forged = signed_with("not-the-secret", session_of(driver, clock))

    assert not is_logged_in(with_cookie(app, forged), DRIVER_HOME)


def test_the_right_secret_signs_a_valid_session(app, driver, clock):
    """The control of the test above: the same cookie signed with the app's secret works."""
    genuine = signed_with(app.secret_key, session_of(driver, clock))

    assert is_logged_in(with_cookie(app, genuine), DRIVER_HOME)


def test_a_tampered_cookie_is_ignored(app, no_csrf, driver, admin):
    browser = app.test_client()
    log_in(browser, DRIVER_LOGIN, driver.email)
    payload, _, signature = cookie(browser).rpartition(".")
    tampered = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature

    assert not is_logged_in(with_cookie(app, tampered), DRIVER_HOME)


# --- throttles shared by every worker ------------------------------------------------------


@pytest.fixture
def second_worker(database_url, clock):
    """Another web process: its own app and its own connection pool, on the same database."""
    from carpool import create_app

    database = Database(database_url)
    yield create_app({"TESTING": True, "DATABASE": database, "CLOCK": clock, "SECRET_KEY": "test"})
    database.dispose()


def test_failures_from_one_client_count_across_workers(app, second_worker, no_csrf, driver, monkeypatch):
    monkeypatch.setattr(accounts, "MAX_FAILED_LOGINS_PER_CLIENT", 4)
    second_worker.config["WTF_CSRF_ENABLED"] = False
    workers = [app.test_client(), second_worker.test_client()]

    for attempt in range(4):  # unknown e-mails: only the per-client count grows
        wrong = {"email": f"inconnu{attempt}@example.org", "password": "pas-le-bon-1"}
        assert workers[attempt % 2].post(DRIVER_LOGIN, data=wrong).status_code == 422

    right = {"email": driver.email, "password": PASSWORD}
    assert workers[0].post(DRIVER_LOGIN, data=right).status_code == 429
    assert workers[1].post(DRIVER_LOGIN, data=right).status_code == 429


def test_failures_on_one_account_count_across_workers(app, second_worker, no_csrf, driver, monkeypatch):
    """Issue 15 (finding 4) changed this: the account-wide count stops the clients that failed
    on it, never one that has not (it used to lock the account for everyone)."""
    monkeypatch.setattr(accounts, "ACCOUNT_GUARD_FAILURES", 3)
    second_worker.config["WTF_CSRF_ENABLED"] = False
    workers = [app.test_client(), second_worker.test_client()]
    wrong = {"email": driver.email, "password": "pas-le-bon-1"}

    for attempt in range(3):  # from three addresses: only the account's count grows
        where = {"REMOTE_ADDR": f"203.0.113.{attempt + 1}"}
        assert workers[attempt % 2].post(DRIVER_LOGIN, data=wrong, environ_base=where).status_code == 422

    right = {"email": driver.email, "password": PASSWORD}
    one_that_failed = {"REMOTE_ADDR": "203.0.113.1"}
    assert workers[1].post(DRIVER_LOGIN, data=right, environ_base=one_that_failed).status_code == 429
    elsewhere = {"REMOTE_ADDR": "198.51.100.7"}
    assert workers[0].post(DRIVER_LOGIN, data=right, environ_base=elsewhere).status_code == 302
