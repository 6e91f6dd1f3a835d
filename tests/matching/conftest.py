"""Fixtures for the matching tests (strategies live in matchkit.py)."""

from __future__ import annotations

import pytest
from matchkit import communes

from carpool.matching.model import Point


@pytest.fixture(scope="session")
def lot() -> dict[str, Point]:
    """(lon, lat) of every commune of the gazetteer, by INSEE code."""
    return communes()
