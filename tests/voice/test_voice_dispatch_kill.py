"""Acceptance: two dispatcher processes SIGKILLed at random place every call exactly once.

Like tests/sending/test_dispatch_kill.py, for calls: 240 calls are queued (40 numbers
called twice, so calls to one number must go one after the other), and two
``carpool dispatch`` processes place them through the real twilio client to the fake
while one of them is killed at random every 0.3–1.2 s and restarted. A kill between
Twilio's answer and our commit leaves a row in ``sending``: after its lease another
process must find the call in Twilio's Calls list (by number and time) instead of
calling again. A call placed twice for one notice is a failure.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from support.sendkit import CARPOOL, dispatcher_env, rows

from carpool.models.messages import OutboundMessage, OutboundStatus
from carpool.notify import outbox

CALLS = 240
NUMBERS = 200
KILLS = 22
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


def unplaced(db) -> int:
    with db.session() as session:
        query = sa.select(sa.func.count()).where(OutboundMessage.status != OutboundStatus.SENT)
        return int(session.scalar(query) or 0)


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
    fake_twilio.answer_delay_seconds = 0.08  # a wider window for kills between answer and commit
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
    rng = random.Random(SEED)
    logs = []
    log_of = {}

    def spawn() -> subprocess.Popen[bytes]:
        logs.append(tmp_path / f"dispatcher-{len(logs)}.log")
        with open(logs[-1], "wb") as log:
            process = subprocess.Popen([CARPOOL, "dispatch"], env=env, stdout=log, stderr=log)
        log_of[process.pid] = logs[-1]
        return process

    def up(process: subprocess.Popen[bytes]) -> bool:
        return log_of[process.pid].stat().st_size > 0

    started = time.monotonic()
    processes = [spawn(), spawn()]
    kills = 0
    while kills < KILLS and unplaced(db) and time.monotonic() - started < 90:
        time.sleep(rng.uniform(0.3, 1.2))
        victim = rng.randrange(2)
        if not up(processes[victim]):
            continue
        os.kill(processes[victim].pid, signal.SIGKILL)
        processes[victim].wait()
        kills += 1
        processes[victim] = spawn()
    while unplaced(db) and time.monotonic() - started < 180:
        time.sleep(0.2)
    for process in processes:
        process.send_signal(signal.SIGTERM)
    exit_codes = [process.wait(timeout=20) for process in processes]
    elapsed = time.monotonic() - started

    placed = Counter(c["status_callback"].rsplit("=", 1)[1] for c in fake_twilio.calls)
    lost = sum(1 for i in ids if placed[str(i)] == 0)
    duplicated = sum(count - 1 for count in placed.values() if count > 1)
    stored = rows(db)
    sids = {c["status_callback"].rsplit("=", 1)[1]: c["sid"] for c in fake_twilio.calls}
    reconciled = sum(path.read_text(errors="replace").count("déjà accepté") for path in logs)
    figures = {
        "backend": db.dialect,
        "calls": CALLS,
        "kills": kills,
        "lost": lost,
        "duplicated": duplicated,
        "reconciled": reconciled,
        "rows_claimed_twice_or_more": sum(1 for r in stored if r.attempts > 1),
        "provider_posts": fake_twilio.requests["POST"],
        "seconds": round(elapsed, 1),
    }
    for name, value in figures.items():
        record_property(name, value)
    print(f"\ncall kill test: {figures}")
    assert (lost, duplicated) == (0, 0), figures
    assert kills >= 15 and reconciled >= 1, figures
    assert set(exit_codes) <= {0, -signal.SIGTERM}, exit_codes
    assert all(r.status == OutboundStatus.SENT and r.provider_sid == sids[str(r.id)] for r in stored)
