"""Fixtures shared by the drivers' page and API tests (a module may override any of them)."""

from __future__ import annotations

import pytest
from drivers_kit import log_in, make_association, make_driver


@pytest.fixture
def association(session):
    return make_association(session)


@pytest.fixture
def user(session, association, clock):
    return make_driver(session, association, clock)


@pytest.fixture
def driver_client(client, no_csrf, user):
    log_in(client, user)
    return client
