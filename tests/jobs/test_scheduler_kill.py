"""Acceptance: a simulated week of 300 trips through schedulers and dispatchers SIGKILLed at random.

The scheduler processes read simulated time from a file (CARPOOL_CLOCK_FILE);
the test moves it one hour at a time, each step only once the scheduler has run
its ``notices`` job at that time, so a dead scheduler stops time instead of
skipping it; nights are crossed in one step from 23:00 to 06:00 (nothing is due
in quiet hours: a notice due then would show up below as skipped). Meanwhile the
schedulers and two ``carpool dispatch`` processes are killed (SIGKILL) at random
and restarted; a second scheduler waits (``--wait``) and takes over when the
leader dies (on SQLite once its lease has expired). At the end every notice the
week owes has exactly one outbox row and reached the fake Twilio exactly once.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.factories import add_association, add_driver, add_resident, add_trip
from support.sendkit import CARPOOL, dispatcher_env

from carpool.clock import PARIS
from carpool.db import make_engine
from carpool.models import JobRun, Match, MatchStatus, OutboundMessage, OutboundStatus
from carpool.services import reminders

TRIPS, PROPOSALS = 280, 20
START = datetime(2026, 11, 30, tzinfo=PARIS)  # Monday 00:00
END = START + timedelta(days=7)
SEED = int(os.environ.get("KILL_SEED", "20261130"))  # `make soak` tries other seeds
WEIGHTS = {"scheduler": 1, "dispatch": 2}  # dispatchers die twice as often (they are mid-send more)
BUDGET = 300  # seconds of real time at most (20–50 s alone; 100+ s when the machine is shared)
# The clock waits for the kills: at most this many simulated steps (132 in the week) per kill, so a
# fast machine cannot finish the week before enough kills have landed (CI once saw 13 of 15).
# And the kills wait for the clock: no kill until something moved since the last one (a step of
# the week, or an SMS sent once it is over), so a loaded machine, where a restarted process takes
# seconds to do anything, cannot be killed in a loop that never lets the week move (CI once reached
# 0.75 day in 300 s under 149 kills).
STEPS_PER_KILL = 6
MIN_KILLS = 132 // STEPS_PER_KILL - 1  # 21


# Processes are SIGKILLed here: they get a database of their own, so whatever a kill leaves
# behind (see the closing note on SQLite) cannot reach the tests that follow.
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


def week(session, rng: random.Random) -> None:
    association = add_association(session)
    drivers = [add_driver(session, association) for _ in range(25)]
    people = [add_resident(session, association) for _ in range(120)]
    booked = START - timedelta(days=1)
    for n in range(TRIPS + PROPOSALS):
        day = START + timedelta(days=rng.randrange(1, 6))
        pickup = day + timedelta(hours=rng.choice([7, 7.5, 8, 9, 10, 11, 14, 15, 16, 17, 18, 22.5]))
        status = MatchStatus.CONFIRMED if n < TRIPS else MatchStatus.PROPOSED
        add_trip(
            session,
            association,
            pickup_at=pickup.astimezone(UTC),
            booked_at=booked,
            status=status,
            driver=rng.choice(drivers),
            person=rng.choice(people),
        )
    session.commit()


def expected_keys(db, until: datetime = END) -> set[str]:
    """What the week owes up to ``until``, planned from the final rows (the same pure function, no clock)."""
    with db.session() as session:
        matches = session.scalars(sa.select(Match)).all()
        return {
            notice.key
            for match in matches
            for notice in reminders.plan(reminders.booking_of(session, match))
            if notice.due_at <= until
        }


class Observer:
    """Reads progress without taking SQLite's write lock (the app's sessions BEGIN IMMEDIATE).

    Its engine is the app's, read-only: a plain ``sa.create_engine`` would open the file with
    the standard library's SQLite beside the app's pysqlite3 (docs/reliability.md).
    """

    def __init__(self, database_url: str) -> None:
        self.engine = make_engine(database_url, read_only=True)

    def scheduler_ran_at(self, moment: datetime) -> bool:
        query = sa.select(sa.func.max(JobRun.started_at)).where(JobRun.name == "notices", JobRun.ok)
        with self.engine.connect() as conn:
            latest = conn.execute(query).scalar()
        return latest is not None and latest >= moment

    def close(self) -> None:
        self.engine.dispose()

    def unsent(self) -> int:
        pending = (OutboundStatus.PENDING, OutboundStatus.SENDING)
        query = sa.select(sa.func.count()).where(OutboundMessage.status.in_(pending))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)


@pytest.mark.slow
@pytest.mark.kill
def test_a_week_of_trips_survives_random_kills_with_every_sms_sent_once(
    db, session, database_url, fake_twilio, tmp_path, record_property
):
    rng = random.Random(SEED)
    fake_twilio.delay_seconds = 0.01  # a provider round trip: kills land mid-send too
    week(session, rng)
    clock_file = tmp_path / "now"
    clock_file.write_text(START.isoformat())
    base = dispatcher_env(
        database_url,
        fake_twilio,
        SMS_LEASE_SECONDS="2",
        SMS_TIMEOUT_SECONDS="0.5",
        SMS_POLL_SECONDS="0.2",
        SMS_BATCH="20",
        LOG_LEVEL="INFO",
    )
    clock_env = {
        **base,
        "CARPOOL_CLOCK_FILE": str(clock_file),
        "SCHEDULER_TICK_SECONDS": "0.05",
        "SCHEDULER_DISPATCH_SECONDS": "0.3",
        "SCHEDULER_LEASE_SECONDS": "1.5",
    }
    logs: list = []
    log_of: dict[int, Path] = {}

    def spawn(role: str) -> subprocess.Popen[bytes]:
        logs.append(tmp_path / f"{role}-{len(logs)}.log")
        command = [CARPOOL, "scheduler", "--wait"] if role == "scheduler" else [CARPOOL, "dispatch"]
        with open(logs[-1], "wb") as log:
            process = subprocess.Popen(
                command, env=clock_env if role == "scheduler" else base, stdout=log, stderr=log
            )
        log_of[process.pid] = logs[-1]
        return process

    def up(process: subprocess.Popen[bytes]) -> bool:
        """Past its imports (it has logged): on a loaded machine start-up takes seconds, and
        kills that only ever land there test nothing and stop the week."""
        return log_of[process.pid].stat().st_size > 0

    observer = Observer(database_url)
    roles = ["scheduler", "scheduler", "dispatch", "dispatch"]  # a leader and a standby (--wait)
    processes = [spawn(role) for role in roles]
    kills = Counter()
    started = time.monotonic()
    next_kill = started + rng.uniform(0.8, 2.0)
    now, week_seconds, steps = START, 0.0, 0
    confirmed = START  # the last simulated time the scheduler is known to have run at
    # Kills go on until the week is over and the outbox is empty: dispatchers die mid-send too.
    moved_at_last_kill: tuple[int, int] | None = None
    while (now < END or observer.unsent()) and time.monotonic() - started < BUDGET:
        kills_due = steps >= STEPS_PER_KILL * (sum(kills.values()) + 1)
        if now < END and not kills_due and observer.scheduler_ran_at(now.astimezone(UTC)):
            confirmed, steps = now, steps + 1
            now = min(now + timedelta(hours=7 if now.hour == 23 else 1), END)  # one step from 23:00 to 06:00
            tmp = clock_file.with_suffix(".tmp")
            tmp.write_text(now.isoformat())
            tmp.replace(clock_file)  # atomic: a reader never sees half a date
            week_seconds = time.monotonic() - started
        else:
            time.sleep(0.03)
        for i, process in enumerate(processes):
            if process.poll() is not None:  # lost its lease while stalled: the platform would restart it
                processes[i] = spawn(roles[i])
        moved = (steps, 0 if now < END else observer.unsent()) if time.monotonic() >= next_kill else None
        if moved is not None and moved != moved_at_last_kill:
            ready = [i for i, process in enumerate(processes) if up(process)]
            if ready:
                victim = rng.choices(ready, weights=[WEIGHTS[roles[i]] for i in ready])[0]
                os.kill(processes[victim].pid, signal.SIGKILL)
                processes[victim].wait()
                kills[roles[victim]] += 1
                processes[victim] = spawn(roles[victim])
                moved_at_last_kill = moved
            next_kill = time.monotonic() + rng.uniform(0.8, 2.0)
    for process in processes:
        process.send_signal(signal.SIGTERM)
    # 0, or -SIGTERM for a process respawned so recently it had not yet installed its handler.
    exit_codes = [process.wait(timeout=30) for process in processes]

    observer.close()
    expected = expected_keys(db)
    # A week cut short by the time budget (a loaded machine) owes nothing past ``confirmed`` yet:
    # those notices are "not reached", not lost. A week run to its end owes everything.
    owed = expected if now == END else expected_keys(db, until=confirmed.astimezone(UTC))
    with db.session() as s:
        rows = {r.idempotency_key: r for r in s.scalars(sa.select(OutboundMessage))}
        states = Counter(m.status for m in s.scalars(sa.select(Match)))
    received = Counter(m["status_callback"].rsplit("=", 1)[1] for m in fake_twilio.messages)
    figures = {
        "backend": db.dialect,
        "trips": TRIPS + PROPOSALS,
        "simulated_days_reached": round((now - START) / timedelta(days=1), 2),
        "expected_sms": len(expected),
        "lost": len(owed - set(rows)),
        "not_reached": len(expected - owed - set(rows)),
        "skipped": sum(1 for r in rows.values() if r.status is OutboundStatus.CANCELLED),
        "unsent": sum(1 for r in rows.values() if r.status is not OutboundStatus.SENT),
        "duplicated": sum(count - 1 for count in received.values() if count > 1),
        "unexpected_rows": len(set(rows) - expected),
        # Rows sharing a number and a text with another: reconciliation cannot tell them apart.
        "twin_rows": sum(n for n in Counter((r.to_phone, r.body) for r in rows.values()).values() if n > 1),
        "kills": dict(kills),
        "reconciled": sum(p.read_text(errors="replace").count("déjà accepté") for p in logs),
        "week_seconds": round(week_seconds, 1),
        "total_seconds": round(time.monotonic() - started, 1),
    }
    for name, value in figures.items():
        record_property(name, value)
    print(f"\nscheduler kill test: {figures}")
    assert now == END, figures
    assert (figures["lost"], figures["duplicated"], figures["skipped"], figures["unsent"]) == (0, 0, 0, 0), (
        figures
    )
    assert figures["unexpected_rows"] == 0 and sum(kills.values()) >= MIN_KILLS, figures
    assert figures["reconciled"] >= 1, figures  # some kills fell mid-send, or that path went untested
    assert states == {MatchStatus.COMPLETED: TRIPS, MatchStatus.EXPIRED: PROPOSALS}, figures
    assert set(exit_codes) <= {0, -signal.SIGTERM}, exit_codes
