"""Log-in throttles slow the clients that fail down; they never lock the right password out
of a client that has not failed (issue 15, finding 4)."""

from __future__ import annotations

import re

import pytest
from support.drivers_kit import text
from support.factories import PASSWORD

from carpool.services import accounts

pytestmark = pytest.mark.usefixtures("cheap_passwords")

COORD_LOGIN = "/coordination/connexion"
ATTACKER, ADMIN_DESK = "203.0.113.66", "198.51.100.7"


def attempt(client, email: str, password: str, address: str):
    return client.post(
        COORD_LOGIN, data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}
    )


def test_an_attacker_failing_fifty_times_does_not_lock_the_admin_out(client, no_csrf, admin):
    for _ in range(50):
        assert attempt(client, admin.email, "pas-le-bon-mot", ATTACKER).status_code in {422, 429}

    response = attempt(client, admin.email, PASSWORD, ADMIN_DESK)

    assert response.status_code == 302, text(response)[:300]


def test_a_client_that_keeps_failing_is_told_how_many_seconds_to_wait(client, no_csrf, admin, clock):
    for _ in range(accounts.FREE_FAILURES_PER_ACCOUNT_AND_CLIENT):
        assert attempt(client, admin.email, "pas-le-bon-mot", ATTACKER).status_code == 422

    slowed = attempt(client, admin.email, PASSWORD, ATTACKER)

    assert slowed.status_code == 429
    wait = int(slowed.headers["Retry-After"])
    assert re.search(rf"réessayez dans {wait} secondes?", text(slowed))
    clock.advance(seconds=wait)
    assert attempt(client, admin.email, PASSWORD, ATTACKER).status_code == 302


def test_the_wait_grows_with_each_new_failure(client, no_csrf, admin, clock):
    waits = []
    for _ in range(accounts.FREE_FAILURES_PER_ACCOUNT_AND_CLIENT):
        attempt(client, admin.email, "pas-le-bon-mot", ATTACKER)
    for _ in range(3):
        wait = int(attempt(client, admin.email, "pas-le-bon-mot", ATTACKER).headers["Retry-After"])
        waits.append(wait)
        clock.advance(seconds=wait)
        assert attempt(client, admin.email, "pas-le-bon-mot", ATTACKER).status_code == 422

    assert waits[0] < waits[1] < waits[2]


def test_guessing_from_many_clients_stops_those_that_failed_not_the_others(client, no_csrf, admin):
    for n in range(accounts.ACCOUNT_GUARD_FAILURES):
        assert attempt(client, admin.email, "pas-le-bon-mot", f"203.0.113.{n + 1}").status_code == 422

    assert attempt(client, admin.email, PASSWORD, "203.0.113.1").status_code == 429
    assert attempt(client, admin.email, PASSWORD, ADMIN_DESK).status_code == 302
