"""SIGKILL acceptance tests of ``carpool dispatch``: spawn, kill, restart, then count.

Two dispatcher processes send the queued outbox through the fake Twilio while one of
them is SIGKILLed (no clean-up) and restarted every 0.3-1.2 s. Most kills fall at
random. A few are *aimed*: the fake accepts a message or call and holds its answer
(``FakeTwilio.hold_answers``), and the process it was serving is killed inside that
window, so the row is at the provider and still ``sending`` in our database. Once the
row's lease has expired another process must find it in Twilio's list instead of
sending it again: every aimed kill is a reconciliation by construction, not by luck.

Used by tests/sending/test_dispatch_kill.py (SMS) and tests/voice/test_voice_dispatch_kill.py
(calls). Linux only: the process being served is found through /proc.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from carpool.db import Database
from carpool.models.messages import OutboundMessage, OutboundStatus
from support.fake_twilio import FakeTwilio
from support.sendkit import CARPOOL, rows

RECONCILED = re.compile(r"outbox (\d+) : déjà accepté")
HOLD_WAIT_SECONDS = 30.0  # for the next create to arrive, on a machine busy with other work


@dataclass(frozen=True)
class KillPlan:
    """How hard to shake the dispatchers, and how long to wait for them."""

    seed: int
    kills: int = 22  # random kills at most: the loop also stops once everything is sent
    aimed: int = 3  # kills inside the window between Twilio's acceptance and its answer
    kill_seconds: float = 240  # no kill starts after this
    # The drain waits on progress, not on a clock: a machine starved by other work must make the
    # test slow, never report rows still queued as lost.
    stall_seconds: float = 60
    drain_seconds: float = 900


@dataclass
class KillRun:
    """What the kill loop did."""

    kills: int = 0  # random ones
    aimed: list[int] = field(default_factory=list)  # outbox ids killed inside the window
    aims_missed: list[str] = field(default_factory=list)  # why an aim did not land (slow machine…)
    exit_codes: list[int] = field(default_factory=list)
    seconds: float = 0.0
    logs: list[Path] = field(default_factory=list)


class Dispatchers:
    """``carpool dispatch`` processes, each (re)started with a log file of its own."""

    def __init__(self, env: Mapping[str, str], log_dir: Path, count: int = 2) -> None:
        self._env = dict(env)
        self._log_dir = log_dir
        self.logs: list[Path] = []
        self._log_of: dict[int, Path] = {}
        self.processes = [self._spawn() for _ in range(count)]

    def _spawn(self) -> subprocess.Popen[bytes]:
        self.logs.append(self._log_dir / f"dispatcher-{len(self.logs)}.log")
        with open(self.logs[-1], "wb") as log:
            process = subprocess.Popen([CARPOOL, "dispatch"], env=self._env, stdout=log, stderr=log)
        self._log_of[process.pid] = self.logs[-1]
        return process

    def up(self, index: int) -> bool:
        """Past its imports (it has logged): on a loaded machine kills landing only during
        start-up would never fall mid-send."""
        return self._log_of[self.processes[index].pid].stat().st_size > 0

    def kill_and_restart(self, index: int) -> None:
        process = self.processes[index]
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        self.processes[index] = self._spawn()

    def serving(self, client_port: int, server_port: int) -> int | None:
        """The index of the process holding the client end of a connection to ``server_port``."""
        pids = [process.pid for process in self.processes]
        owner = connection_owner(pids, client_port, server_port)
        return None if owner is None else pids.index(owner)

    def stop(self) -> list[int]:
        """SIGTERM to all; their exit codes."""
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        return [process.wait(timeout=20) for process in self.processes]


def connection_owner(pids: list[int], client_port: int, server_port: int, reads: int = 5) -> int | None:
    """Which of ``pids`` holds the TCP connection from ``client_port`` to ``server_port``.

    /proc/net/tcp is read page by page while other sockets come and go, so one read can miss
    an entry: the connection is held open, a few reads find it.
    """
    for _ in range(reads):
        sockets = {f"socket:[{inode}]" for inode in _tcp_inodes(client_port, server_port)}
        owner = next((pid for pid in pids if sockets & _open_files(pid)), None)
        if owner is not None:
            return owner
    return None


def _tcp_inodes(local_port: int, remote_port: int) -> set[str]:
    """Inodes of the TCP sockets from ``local_port`` to ``remote_port`` (/proc/net/tcp)."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, remote, inode = (line.split()[i] for i in (1, 2, 9))
            if _port(local) == local_port and _port(remote) == remote_port:
                found.add(inode)
    return found


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1], 16)


def _open_files(pid: int) -> set[str]:
    """What the process's descriptors point to (``socket:[inode]`` for a socket)."""
    targets: set[str] = set()
    try:
        descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return targets
    for descriptor in descriptors:
        try:
            targets.add(os.readlink(descriptor))
        except OSError:  # closed meanwhile
            continue
    return targets


def unsent(db: Database) -> int:
    with db.session() as session:
        query = sa.select(sa.func.count()).where(OutboundMessage.status != OutboundStatus.SENT)
        return int(session.scalar(query) or 0)


def _left_at_provider(db: Database, outbox_id: int) -> bool:
    """The row is still ``sending`` without a SID: the kill fell between acceptance and commit."""
    with db.session() as session:
        row = session.get_one(OutboundMessage, outbox_id)
        return row.status == OutboundStatus.SENDING and row.provider_sid is None


def outbox_id(callback: str | None) -> int:
    """The outbox id carried by a status callback URL (``…?outbox=<id>``)."""
    return int((callback or "").rsplit("=", 1)[1])


def _kill_inside_window(dispatchers: Dispatchers, fake: FakeTwilio, db: Database) -> int | str:
    """Kill the process whose create the fake holds: the outbox id it left behind, or why not."""
    fake.hold_answers(1)
    held = fake.next_held(timeout=HOLD_WAIT_SECONDS)
    if held is None:
        fake.stop_holding()
        return f"nothing sent within {HOLD_WAIT_SECONDS:g} s"
    try:
        victim = dispatchers.serving(held.client_port, fake.port)
        if victim is not None:
            dispatchers.kill_and_restart(victim)
    finally:
        held.release()
    oid = outbox_id(held.status_callback)
    if victim is None:
        return f"outbox {oid}: no dispatcher holds port {held.client_port}"
    if not _left_at_provider(db, oid):
        return f"outbox {oid}: no longer sending at the kill (the client had given up)"
    return oid


def _aim_due(run: KillRun, plan: KillPlan) -> bool:
    """Aimed kills go between the random ones, before the 2nd, 5th, 8th… until enough landed."""
    tries = len(run.aimed) + len(run.aims_missed)
    return len(run.aimed) < plan.aimed and tries < 2 * plan.aimed and run.kills >= 3 * tries + 1


def run_with_kills(
    db: Database, fake: FakeTwilio, env: Mapping[str, str], log_dir: Path, plan: KillPlan
) -> KillRun:
    """Two dispatchers killed and restarted until everything is sent, then stopped."""
    rng = random.Random(plan.seed)
    run = KillRun()
    started = time.monotonic()
    dispatchers = Dispatchers(env, log_dir)
    while run.kills < plan.kills and unsent(db) and time.monotonic() - started < plan.kill_seconds:
        if _aim_due(run, plan):
            aim = _kill_inside_window(dispatchers, fake, db)
            if isinstance(aim, int):
                run.aimed.append(aim)
            else:
                run.aims_missed.append(aim)
        time.sleep(rng.uniform(0.3, 1.2))
        victim = rng.randrange(2)
        if not dispatchers.up(victim):
            continue
        dispatchers.kill_and_restart(victim)
        run.kills += 1
    _drain(db, plan, started)
    run.exit_codes = dispatchers.stop()
    run.seconds = time.monotonic() - started
    run.logs = dispatchers.logs
    return run


def _drain(db: Database, plan: KillPlan, started: float) -> None:
    left, last_progress = unsent(db), time.monotonic()
    while (
        left
        and time.monotonic() - last_progress < plan.stall_seconds
        and time.monotonic() - started < plan.drain_seconds
    ):
        time.sleep(0.2)
        now_left = unsent(db)
        if now_left < left:
            left, last_progress = now_left, time.monotonic()


@dataclass(frozen=True)
class Counts:
    """The outcome, as the tests assert and print it."""

    backend: str
    queued: int
    kills: int
    aimed_kills: int
    aims_missed: list[str]
    lost: int  # marked sent, never at the provider
    unsent: int  # still queued: late, not lost (another dispatcher would send it)
    duplicated: int  # at the provider more than once
    reconciled: int  # found in Twilio's list instead of sent again
    aimed_not_reconciled: int  # should be 0: an aimed kill leaves nothing else to do
    wrong_sid: int  # rows not holding the SID the provider gave their message or call
    rows_claimed_twice_or_more: int
    provider_posts: int
    seconds: float

    def record(self, record_property: Callable[[str, Any], None], label: str) -> None:
        for name, value in asdict(self).items():
            record_property(name, value)
        print(f"\n{label}: {asdict(self)}")

    def assert_exactly_once(self, run: KillRun) -> None:
        """Every notice at the provider once, each row holding its SID, the crash window exercised."""
        assert (self.lost, self.duplicated, self.unsent) == (0, 0, 0), self
        assert self.wrong_sid == 0, self
        # Every kill inside the window left a message or call Twilio had and we had not
        # recorded: each must have been found in Twilio's list instead of sent again.
        assert self.kills >= 15 and self.aimed_kills >= 1, self
        assert self.aimed_not_reconciled == 0 and self.reconciled >= self.aimed_kills, self
        # 0, or -SIGTERM for a process respawned so recently it had not yet installed its handler.
        assert set(run.exit_codes) <= {0, -signal.SIGTERM}, run.exit_codes


def count(db: Database, ids: list[int], fake: FakeTwilio, run: KillRun, *, calls: bool = False) -> Counts:
    """Compare the outbox with what the fake accepted: its messages, or its ``calls``."""
    accepted = fake.calls if calls else fake.messages
    received = Counter(outbox_id(a["status_callback"]) for a in accepted)
    sids = {outbox_id(a["status_callback"]): a["sid"] for a in accepted}
    stored = rows(db)
    status_of = {r.id: r.status for r in stored}
    reconciled = [int(m) for path in run.logs for m in RECONCILED.findall(path.read_text(errors="replace"))]
    return Counts(
        backend=db.dialect,
        queued=len(ids),
        kills=run.kills,
        aimed_kills=len(run.aimed),
        aims_missed=run.aims_missed,
        lost=sum(1 for i in ids if received[i] == 0 and status_of[i] == OutboundStatus.SENT),
        unsent=sum(1 for i in ids if status_of[i] != OutboundStatus.SENT),
        duplicated=sum(n - 1 for n in received.values() if n > 1),
        reconciled=len(reconciled),
        aimed_not_reconciled=len(set(run.aimed) - set(reconciled)),
        wrong_sid=sum(1 for r in stored if r.provider_sid != sids.get(r.id)),
        rows_claimed_twice_or_more=sum(1 for r in stored if r.attempts > 1),
        provider_posts=fake.requests["POST"],
        seconds=round(run.seconds, 1),
    )
