"""Acceptance: two dispatcher processes SIGKILLed at random place every call exactly once.

Like tests/sending/test_dispatch_kill.py, for calls: 240 calls are queued (40 numbers
called twice, so calls to one number must go one after the other), and two
``carpool dispatch`` processes place them through the real twilio client to the fake
while one of them is killed at random every 0.3–1.2 s and restarted, and three more
times on purpose between Twilio's acceptance and its answer (tests/support/killkit.py).
A kill between Twilio's answer and our commit leaves a row in ``sending``: after its
lease another process must find the call in Twilio's Calls list (by number and time)
instead of calling again. A call placed twice for one notice is a failure.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from support import killkit
from support.sendkit import dispatcher_env

from carpool.notify import outbox

CALLS = 240
NUMBERS = 200
SEED = int(os.environ.get("KILL_SEED", "20261206"))


@pytest.fixture(scope="module")
def database_url(database_factory):
    from support.dbkit import migrated_database

    return migrated_database(database_factory)


@pytest.fixture(scope="module")
def _shared_database(database_url):
    from carpool.db import Database

    database = Database(database_url)
    yield database
    database.dispose()


def queue_calls(db) -> list[int]:
    # The processes run on the wall clock, maybe outside 09:00-19:00: a trip within 24 h may ring.
    trip_at = datetime.now(UTC) + timedelta(hours=3)
    with db.session() as session:
        queued = [
            outbox.enqueue(
                session,
                f"call:{i}",
                f"+3353649{i % NUMBERS:04d}",
                f"Rappel n°{i} : Sophie passe vous prendre demain à 9 h.",
                channel="voice",
                trip_at=trip_at,
            )
            for i in range(CALLS)
        ]
        session.flush()
        return [row.id for row in queued if row is not None]


@pytest.mark.slow
@pytest.mark.kill
def test_two_dispatchers_killed_at_random_place_every_call_exactly_once(
    db, database_url, fake_twilio, tmp_path, record_property
):
    ids = queue_calls(db)
    fake_twilio.delay_seconds = 0.015
    fake_twilio.answer_delay_seconds = 0.08  # a wider window for random kills between answer and commit
    env = dispatcher_env(
        database_url,
        fake_twilio,
        SMS_LEASE_SECONDS="2",
        SMS_TIMEOUT_SECONDS="0.5",
        SMS_POLL_SECONDS="0.2",
        SMS_BATCH="10",
        VOICE_BUDGET_PER_NUMBER="10",
        VOICE_BUDGET_GLOBAL="10000",
        LOG_LEVEL="INFO",
    )

    run = killkit.run_with_kills(db, fake_twilio, env, tmp_path, killkit.KillPlan(seed=SEED))

    counts = killkit.count(db, ids, fake_twilio, run, calls=True)
    counts.record(record_property, "call kill test")
    counts.assert_exactly_once(run)
