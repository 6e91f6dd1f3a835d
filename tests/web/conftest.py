"""Fixtures shared by the drivers' page and API tests (a module may override any of them)."""

from __future__ import annotations

import pytest
from support.drivers_kit import log_in
from support.factories import add_driver_account


@pytest.fixture
def user(session, association, clock):
    return add_driver_account(session, association, clock)


@pytest.fixture
def driver_client(client, no_csrf, user):
    log_in(client, user)
    return client
