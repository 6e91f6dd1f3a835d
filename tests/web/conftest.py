"""Fixtures shared by the drivers' page and API tests (a module may override any of them)."""

from __future__ import annotations

import pytest
from support.drivers_kit import log_in
from support.factories import RESIDENT_PHONE, add_driver_account, add_resident


@pytest.fixture
def user(session, association, clock):
    return add_driver_account(session, association, clock)


@pytest.fixture
def driver_client(client, no_csrf, user):
    log_in(client, user)
    return client


@pytest.fixture
def resident(session, association):
    """The resident who texts in the SMS conversation tests (committed: the webhook reads it)."""
    resident = add_resident(session, association, phone=RESIDENT_PHONE)
    session.commit()
    return resident
