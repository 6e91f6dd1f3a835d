"""Fixtures of the dashboard tests: a coordinator of the Lot, and another association to leak from."""

from __future__ import annotations

import pytest
from support.drivers_kit import log_in
from support.factories import add_association, add_coordinator


@pytest.fixture
def coordinator(session, association):
    return add_coordinator(session, association)


@pytest.fixture
def other_association(session):
    other = add_association(session, name="Argenteuil Solidarité", phone="01 39 98 00 02")
    session.commit()
    return other


@pytest.fixture
def coord_client(client, no_csrf, coordinator):
    log_in(client, coordinator)
    return client
