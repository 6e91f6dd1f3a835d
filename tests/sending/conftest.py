"""Fixtures for the SMS sending layer: the fake Twilio, a backend wired to it, queued rows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from support.fake_twilio import FakeTwilio
from support.sendkit import make_backend, phone

from carpool.db import Database
from carpool.notify import outbox
from carpool.notify.backends import TwilioBackend


@pytest.fixture
def twilio(fake_twilio: FakeTwilio) -> TwilioBackend:
    """The real twilio client, talking to the fake."""
    return make_backend(fake_twilio)


@pytest.fixture
def queue(db: Database) -> Callable[..., list[int]]:
    """Queue ``count`` distinct SMS (committed); returns their ids."""

    def add(
        count: int = 1, *, to: str | None = None, body: str | None = None, prefix: str = "k"
    ) -> list[int]:
        with db.session() as session:
            queued = [
                outbox.enqueue(
                    session, f"{prefix}:{i}", to or phone(i), body or f"Rendez-vous n°{i} demain 9h"
                )
                for i in range(count)
            ]
            session.flush()
            return [row.id for row in queued if row is not None]

    return add
