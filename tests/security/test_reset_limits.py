"""Password-reset SMS are limited per phone (3 a day) and per client address (10 requests an
hour), and the answer never tells whether an account exists or a limit was reached for it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from support.drivers_kit import count, text

from carpool.models import OutboundMessage, PasswordResetRequest
from carpool.services import accounts

FORGOT = "/conducteurs/mot-de-passe-oublie"
SAME_ANSWER = "Si cette adresse correspond à un compte"


@pytest.fixture
def asker(app, no_csrf):
    return app.test_client()


def ask(client, email: str, address: str = "127.0.0.1"):
    return client.post(FORGOT, data={"email": email}, environ_base={"REMOTE_ADDR": address})


def test_a_phone_gets_at_most_three_reset_sms_a_day(asker, session, driver, clock):
    for _ in range(accounts.MAX_RESET_SMS_PER_PHONE + 2):
        ask(asker, driver.email)
        clock.advance(minutes=5)  # past the two-minute cooldown each time

    assert count(session, OutboundMessage) == accounts.MAX_RESET_SMS_PER_PHONE


def test_the_phone_limit_lifts_after_a_day(asker, session, driver, clock):
    for _ in range(accounts.MAX_RESET_SMS_PER_PHONE):
        ask(asker, driver.email)
        clock.advance(minutes=5)
    clock.advance(hours=24)

    ask(asker, driver.email)

    assert count(session, OutboundMessage) == accounts.MAX_RESET_SMS_PER_PHONE + 1


def test_above_the_phone_limit_the_answer_is_that_of_an_unknown_address(app, asker, driver, clock):
    for _ in range(accounts.MAX_RESET_SMS_PER_PHONE):
        ask(asker, driver.email)
        clock.advance(minutes=5)

    limited = app.test_client().post(FORGOT, data={"email": driver.email}, follow_redirects=True)
    unknown = app.test_client().post(FORGOT, data={"email": "personne@example.org"}, follow_redirects=True)

    assert (limited.status_code, unknown.status_code) == (200, 200)
    assert SAME_ANSWER in text(limited)
    assert text(limited) == text(unknown)


def test_one_client_asking_for_many_addresses_is_stopped_before_any_sms(asker, session, driver):
    for n in range(accounts.MAX_RESET_REQUESTS_PER_CLIENT):
        assert ask(asker, f"inconnu{n}@example.org").status_code == 302

    refused = ask(asker, driver.email)

    assert refused.status_code == 429
    assert "réessayez dans une heure" in text(refused)
    assert count(session, OutboundMessage) == 0


def test_the_client_limit_is_per_client_and_lifts_after_an_hour(asker, session, driver, clock):
    for n in range(accounts.MAX_RESET_REQUESTS_PER_CLIENT):
        ask(asker, f"inconnu{n}@example.org")

    other_client = ask(asker, "personne@example.org", address="203.0.113.9")
    clock.advance(minutes=61)
    later = ask(asker, driver.email)

    assert other_client.status_code == 302
    assert later.status_code == 302
    assert count(session, OutboundMessage) == 1


def test_reset_requests_keep_no_client_address_and_no_old_rows(asker, session, driver, clock):
    ask(asker, "personne@example.org", address="203.0.113.9")
    clock.advance(hours=2)
    ask(asker, "personne@example.org", address="203.0.113.9")

    hashes = list(session.scalars(sa.select(PasswordResetRequest.client_hash)))
    assert len(hashes) == 1
    assert "203.0.113.9" not in hashes[0]
    assert len(hashes[0]) == 64


def test_the_retention_job_deletes_reset_requests_older_than_an_hour(asker, session, clock):
    from carpool.services.purge import purge_all

    ask(asker, "personne@example.org")
    purge_all(session, clock.now() + timedelta(minutes=59))
    kept = count(session, PasswordResetRequest)
    purge_all(session, clock.now() + timedelta(minutes=61))

    assert (kept, count(session, PasswordResetRequest)) == (1, 0)
