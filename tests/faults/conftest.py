"""Fixtures for the fault tests: a fake Twilio and queued SMS (as in tests/sending)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from carpool.db import Database
from carpool.notify import outbox


@pytest.fixture
def queue(db: Database) -> Callable[[int], list[int]]:
    """Queue ``count`` distinct SMS to distinct numbers (committed); returns their ids."""

    def add(count: int) -> list[int]:
        with db.session() as session:
            queued = [
                outbox.enqueue(session, f"fault:{i}", f"+3363998{i:04d}", f"Rendez-vous n°{i} demain 9h")
                for i in range(count)
            ]
            session.flush()
            return [row.id for row in queued if row is not None]

    return add
