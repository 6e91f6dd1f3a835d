"""Fixtures for the matching tests (strategies live in support.matchkit)."""

from __future__ import annotations

import pytest
from support.matchkit import communes

from carpool.matching.model import Point


@pytest.fixture(scope="session")
def lot() -> dict[str, Point]:
    """(lon, lat) of every commune of the gazetteer, by INSEE code."""
    return communes()
