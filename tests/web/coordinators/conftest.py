"""Fixtures of the dashboard tests: a coordinator of the Lot, and another association to leak from."""

from __future__ import annotations

import pytest
from coordkit import make_coordinator
from drivers_kit import log_in, make_association


@pytest.fixture
def coordinator(session, association):
    return make_coordinator(session, association)


@pytest.fixture
def other_association(session):
    return make_association(session, name="Argenteuil Solidarité", phone="01 39 98 00 02")


@pytest.fixture
def coord_client(client, no_csrf, coordinator):
    log_in(client, coordinator)
    return client
