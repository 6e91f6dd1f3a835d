"""Fixtures of the security tests: one account per role, and every kind of record a URL can name.

The rows come from ``support.factories``, as in the web tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from support.drivers_kit import log_in
from support.factories import (
    CAHORS,
    WHERE,
    add_coordinator,
    add_driver_account,
    add_offer,
    add_proposal,
    add_resident,
)

from carpool.db import point
from carpool.models import NamedPlace, Role, TimeOff, UserAccount
from carpool.services import accounts, drivers


@pytest.fixture(autouse=True)
def _fresh_matching_indexes():
    """The matcher caches one index per database URL and association: tests reuse both."""
    from carpool.services import matching

    matching.forget_indexes()
    yield
    matching.forget_indexes()


@pytest.fixture
def cheap_passwords(monkeypatch):
    """Argon2 at its cheapest: these tests log in hundreds of times on a busy machine.

    Request it before the accounts (hashes carry their own parameters).
    """
    from argon2 import PasswordHasher

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", cheap)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", cheap.hash("unknown"))


@pytest.fixture
def driver(session, association, clock) -> UserAccount:
    return add_driver_account(session, association, clock)


@pytest.fixture
def admin(session, association) -> UserAccount:
    """An admin: every coordinator page, settings and accounts included."""
    return add_coordinator(session, association, role=Role.ADMIN)


@pytest.fixture
def driver_client(app, driver):
    client = app.test_client()
    log_in(client, driver)
    return client


@pytest.fixture
def admin_client(app, admin):
    client = app.test_client()
    log_in(client, admin)
    return client


@pytest.fixture
def api_headers(session, driver, clock) -> dict[str, str]:
    _token, secret = accounts.create_api_token(session, driver, "tests", clock)
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


@dataclass
class World:
    """One record of each kind the URLs of /conducteurs and /coordination name by id."""

    ids: dict[str, int]

    def fill(self, arguments: set[str]) -> dict[str, int | str]:
        """Values for a rule's arguments: a real id when known, else one that does not exist."""
        return {name: self.ids.get(name, 999_999) if name != "token" else "x" * 32 for name in arguments}


@pytest.fixture
def world(session, association, driver, admin, clock) -> World:
    driver_row = drivers.driver_of(session, driver)
    offer = add_offer(session, driver_row, day=date(2026, 12, 1))
    session.commit()
    match = add_proposal(session, association, driver, clock, offer=offer)
    resident = add_resident(session, association, first_name="Marcel")
    place = NamedPlace(
        association_id=association.id,
        name="Pharmacie du Pont",
        kind="pharmacie",
        commune_insee=CAHORS,
        point=point(*WHERE[CAHORS]),
    )
    time_off = TimeOff(driver_id=driver_row.id, first_day=date(2026, 12, 20), last_day=date(2026, 12, 24))
    session.add_all([place, time_off])
    other = add_coordinator(session, association, email="paul@example.org")
    token, _secret = accounts.create_api_token(session, driver, "tests", clock)
    session.commit()
    return World(
        ids={
            "offer_id": offer.id,
            "match_id": match.id,
            "request_id": match.request_id,
            "resident_id": resident.id,
            "driver_id": driver_row.id,
            "place_id": place.id,
            "time_off_id": time_off.id,
            "token_id": token.id,
            "user_id": other.id,
        }
    )
