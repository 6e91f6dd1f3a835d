"""Coordinators log in with a password, then a TOTP code if enabled; throttled per account and client."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa
from support.coordkit import second_factor
from support.drivers_kit import text
from support.factories import PASSWORD, TEST_BOX, add_coordinator, add_driver_account

from carpool.models import LoginFailure, Role, UserAccount
from carpool.services import accounts


def log_in(client, email="claire@example.org", password=PASSWORD, **environ):
    return client.post(
        "/coordination/connexion",
        data={"email": email, "password": password},
        environ_base=environ,
    )


def test_a_coordinator_logs_in_and_lands_on_today(client, no_csrf, coordinator):
    assert log_in(client).headers["Location"].endswith("/coordination/connexion/code")
    response = second_factor(client)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/coordination/")


def test_a_wrong_password_is_refused_with_a_plain_message(client, no_csrf, coordinator):
    response = log_in(client, password="mauvais-mot-de-passe")
    assert response.status_code == 422
    assert "Adresse e-mail ou mot de passe incorrect." in text(response)


def test_a_driver_account_cannot_enter_the_dashboard(client, no_csrf, session, association, clock):
    add_driver_account(session, association, clock, email="sophie@example.org")
    assert log_in(client, email="sophie@example.org").status_code == 422


def test_pages_send_visitors_to_the_log_in_page(client):
    response = client.get("/coordination/compte")
    assert response.status_code == 302
    assert "/coordination/connexion" in response.headers["Location"]


def test_a_driver_logged_in_gets_403_on_the_dashboard(client, session, association, clock):
    from support.drivers_kit import log_in as put_in_cookie

    put_in_cookie(client, add_driver_account(session, association, clock))
    assert client.get("/coordination/compte").status_code == 403


def test_wrong_passwords_slow_this_client_down_not_another(client, no_csrf, coordinator, clock):
    """Issue 15 (finding 4): a wait for the client that failed instead of a lock of the account."""
    for _ in range(accounts.FREE_FAILURES_PER_ACCOUNT_AND_CLIENT):
        log_in(client, password="faux-mot-de-passe", REMOTE_ADDR="192.0.2.7")
    assert log_in(client, REMOTE_ADDR="192.0.2.7").status_code == 429
    assert log_in(client, REMOTE_ADDR="192.0.2.8").status_code == 302
    clock.advance(minutes=16)
    assert log_in(client, REMOTE_ADDR="192.0.2.7").status_code == 302


def test_one_client_address_trying_many_accounts_is_stopped(client, no_csrf, session, association):
    for n in range(accounts.MAX_FAILED_LOGINS_PER_CLIENT):
        log_in(client, email=f"inconnu{n}@example.org", REMOTE_ADDR="192.0.2.7")
    add_coordinator(session, association, email="paul@example.org")
    assert log_in(client, email="paul@example.org", REMOTE_ADDR="192.0.2.7").status_code == 429
    assert log_in(client, email="paul@example.org", REMOTE_ADDR="192.0.2.8").status_code == 302


def test_the_per_client_count_keeps_no_address_in_clear(client, no_csrf, session, coordinator):
    log_in(client, password="faux", REMOTE_ADDR="192.0.2.7")
    stored = session.scalars(sa.select(LoginFailure.ip_hash)).all()
    assert len(stored) == 1 and "192.0.2.7" not in stored[0]


def test_behind_a_proxy_the_real_client_address_is_counted(db, clock, session, association, monkeypatch):
    from carpool import create_app

    monkeypatch.setenv("PROXY_FIX_HOPS", "1")
    app = create_app({"TESTING": True, "DATABASE": db, "CLOCK": clock, "SECRET_KEY": "test"})
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    for n in range(accounts.MAX_FAILED_LOGINS_PER_CLIENT):
        log_in(client, email=f"x{n}@example.org", HTTP_X_FORWARDED_FOR="198.51.100.9")
    add_coordinator(session, association, email="paul@example.org")
    assert log_in(client, email="paul@example.org", HTTP_X_FORWARDED_FOR="198.51.100.9").status_code == 429
    assert log_in(client, email="paul@example.org", HTTP_X_FORWARDED_FOR="198.51.100.10").status_code == 302


@pytest.fixture
def totp_user(session, coordinator, clock):
    secret = accounts.pending_totp_secret(session, coordinator, TEST_BOX)
    coordinator.totp_secret = None
    code = pyotp.TOTP(secret).at(clock.now())
    assert accounts.enable_totp(session, coordinator, code, clock, TEST_BOX)
    coordinator.totp_last_step = None
    session.commit()
    return coordinator, pyotp.TOTP(secret)


def test_with_a_second_factor_the_password_alone_does_not_log_in(client, no_csrf, totp_user):
    response = log_in(client)
    assert response.headers["Location"].endswith("/coordination/connexion/code")
    assert client.get("/coordination/compte").status_code == 302  # still logged out


def test_the_right_code_completes_the_log_in_once(client, no_csrf, totp_user, clock):
    _user, totp = totp_user
    log_in(client)
    code = totp.at(clock.now())
    assert client.post("/coordination/connexion/code", data={"code": code}).status_code == 302
    assert client.get("/coordination/compte").status_code == 200
    client.post("/coordination/deconnexion")
    log_in(client)
    replay = client.post("/coordination/connexion/code", data={"code": code})
    assert replay.status_code == 422 and "déjà servi" in text(replay)


def test_a_wrong_code_is_refused_and_counted(client, no_csrf, session, totp_user):
    log_in(client)
    response = client.post("/coordination/connexion/code", data={"code": "000000"})
    assert response.status_code == 422
    failures = session.scalar(sa.select(sa.func.count()).select_from(LoginFailure))
    assert failures == 1


def test_log_out_voids_the_session_everywhere(client, no_csrf, session, coordinator, app):
    log_in(client)
    other = app.test_client()
    log_in(other)
    client.post("/coordination/deconnexion")
    assert other.get("/coordination/compte").status_code == 302


def test_enabling_the_second_factor_from_the_account_page(client, no_csrf, session, association, clock):
    coordinator = add_coordinator(session, association, email="paul@example.org", sees_health_data=False)
    log_in(client, email="paul@example.org")
    page = client.get("/coordination/compte")
    assert page.status_code == 200 and "<svg" in text(page)
    session.expire_all()
    secret = TEST_BOX.open(session.get(UserAccount, coordinator.id).totp_pending_secret)  # on the server
    session.rollback()
    wrong = client.post("/coordination/compte/second-facteur", data={"totp-code": "123"})
    assert wrong.status_code == 422
    ok = client.post(
        "/coordination/compte/second-facteur", data={"totp-code": pyotp.TOTP(secret).at(clock.now())}
    )
    assert ok.status_code == 302
    session.expire_all()
    assert TEST_BOX.open(session.get(UserAccount, coordinator.id).totp_secret) == secret


def test_old_per_client_failures_are_forgotten(session, coordinator, clock):
    accounts.note_failure(session, "abc", None, clock.now() - timedelta(hours=1))
    accounts.note_failure(session, "abc", None, clock.now())
    assert accounts.forget_old_failures(session, clock.now()) == 1


def test_an_admin_is_a_coordinator_too(session, association):
    admin = add_coordinator(session, association, email="admin@example.org", role=Role.ADMIN)
    assert admin.is_coordinator and admin.may_see_purpose


def test_the_password_step_waits_five_minutes_for_the_code_at_most(client, no_csrf, totp_user, clock):
    _user, totp = totp_user
    log_in(client)
    clock.advance(minutes=5, seconds=1)

    late = client.post("/coordination/connexion/code", data={"code": totp.at(clock.now())})

    assert late.headers["Location"].endswith("/coordination/connexion")
    assert client.get("/coordination/compte").status_code == 302
