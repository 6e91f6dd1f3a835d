"""Helpers shared by the sending tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import sqlalchemy as sa

from carpool.db import Database
from carpool.models.messages import OutboundMessage
from carpool.notify.backends import TwilioBackend
from support.fake_twilio import FakeTwilio

SENDER = "+33639980000"  # ARCEP's range for fiction (06 39 98 xx xx)


def phone(n: int) -> str:
    return f"+336399800{n % 100:02d}"


def make_backend(fake: FakeTwilio, timeout_seconds: float = 2.0) -> TwilioBackend:
    """The real twilio client, talking to the fake."""
    return TwilioBackend(
        fake.account_sid,
        fake.auth_token,
        from_number=SENDER,
        api_base_url=fake.base_url,
        timeout_seconds=timeout_seconds,
    )


def rows(db: Database) -> list[OutboundMessage]:
    with db.session() as session:
        return list(session.scalars(sa.select(OutboundMessage).order_by(OutboundMessage.id)))


def row(db: Database, outbox_id: int) -> OutboundMessage:
    with db.session() as session:
        return session.get_one(OutboundMessage, outbox_id)


CARPOOL = str(Path(sys.executable).with_name("carpool"))


def dispatcher_env(database_url: str, fake: FakeTwilio, **overrides: str) -> dict[str, str]:
    """Environment for a ``carpool dispatch`` process sending through the fake."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test",
        "SMS_BACKEND": "twilio",
        "TWILIO_ACCOUNT_SID": fake.account_sid,
        "TWILIO_AUTH_TOKEN": fake.auth_token,
        "TWILIO_FROM": SENDER,
        "TWILIO_API_BASE_URL": fake.base_url,
        "PUBLIC_BASE_URL": "https://covoiturage.example.org",
        **overrides,
    }
