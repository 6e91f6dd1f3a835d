"""Only one scheduler acts at a time: a PostgreSQL advisory lock, or a lease row on SQLite.

Two APScheduler processes sharing a database both run every job (measured, see
NOTES.md), so the clock process first becomes *the* leader. On PostgreSQL it
holds ``pg_try_advisory_lock`` on a dedicated connection for its whole life:
the server releases it when the process dies. SQLite has no such lock: a row in
``scheduler_lease`` names the holder until ``expires_at`` and is renewed every
few seconds; a killed holder loses it when it expires. Every job also checks,
inside its own transaction, that its process still leads (``fence``), so a
process that stalled past its lease writes nothing. Lease times use the wall
clock, never a simulated one: they measure how long real processes live.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import utcnow
from carpool.db import Database
from carpool.models import SchedulerLease

LEASE_NAME = "scheduler"
#: pg_advisory_lock key for "the carpool scheduler" (advisory locks are per database).
ADVISORY_KEY = 7_231_446_102_913_003


class LeadershipLost(RuntimeError):
    """This process no longer leads: it must stop acting."""


class Leadership(Protocol):
    holder: str

    def acquire(self) -> bool: ...
    def renew(self) -> bool: ...
    def fence(self, session: Session) -> None: ...
    def release(self) -> None: ...


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class AdvisoryLock:
    """PostgreSQL: a session-level advisory lock held on a dedicated connection."""

    def __init__(self, database: Database) -> None:
        self.database, self.holder = database, holder_name()
        self._conn: sa.Connection | None = None
        self._pid: int | None = None

    def acquire(self) -> bool:
        conn = self.database.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        got = bool(conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}).scalar())
        if not got:
            conn.close()
            return False
        self._conn, self._pid = conn, int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())
        return True

    def renew(self) -> bool:
        """True while the lock connection is alive (the lock lives and dies with it)."""
        if self._conn is None:
            return False
        try:
            self._conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def fence(self, session: Session) -> None:
        held = session.scalar(
            sa.text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND pid = :pid AND ((classid::bigint << 32) | objid::bigint) = :k"
            ),
            {"pid": self._pid, "k": ADVISORY_KEY},
        )
        if not held:
            raise LeadershipLost("le verrou du planificateur n'est plus tenu")

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
            except sa.exc.SQLAlchemyError:
                pass  # the connection is gone, and the lock with it
            finally:
                self._conn.close()
                self._conn = None


class SqliteLease:
    """SQLite: a lease row renewed every few seconds; whoever finds it expired may take it."""

    def __init__(self, database: Database, lease_seconds: float) -> None:
        self.database, self.holder = database, holder_name()
        self.lease = timedelta(seconds=lease_seconds)

    def acquire(self) -> bool:
        now = utcnow()
        with self.database.session() as session:  # BEGIN IMMEDIATE: no one else decides meanwhile
            row = session.get(SchedulerLease, LEASE_NAME)
            if row is None:
                session.add(SchedulerLease(name=LEASE_NAME, holder=self.holder, expires_at=now + self.lease))
                return True
            if row.holder != self.holder and row.expires_at > now:
                return False
            row.holder, row.expires_at = self.holder, now + self.lease
            return True

    def renew(self) -> bool:
        with self.database.session() as session:
            result = session.execute(
                sa.update(SchedulerLease)
                .where(SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == self.holder)
                .values(expires_at=utcnow() + self.lease)
            )
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def fence(self, session: Session) -> None:
        row = session.get(SchedulerLease, LEASE_NAME, populate_existing=True)
        if row is None or row.holder != self.holder or row.expires_at <= utcnow():
            raise LeadershipLost("le bail du planificateur a expiré ou a été repris")

    def release(self) -> None:
        with self.database.session() as session:
            session.execute(
                sa.delete(SchedulerLease).where(
                    SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == self.holder
                )
            )


def leadership_for(database: Database, lease_seconds: float) -> Leadership:
    if database.dialect == "postgresql":
        return AdvisoryLock(database)
    return SqliteLease(database, lease_seconds)


def current_leader(database: Database) -> str | None:
    """Who leads now, for ``carpool jobs`` (None: nobody)."""
    if database.dialect == "postgresql":
        with database.engine.connect() as conn:
            pid = conn.execute(
                sa.text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND ((classid::bigint << 32) | objid::bigint) = :k"
                ),
                {"k": ADVISORY_KEY},
            ).scalar()
        return f"processus PostgreSQL {pid}" if pid else None
    with database.session() as session:
        row = session.get(SchedulerLease, LEASE_NAME)
        return row.holder if row is not None and row.expires_at > utcnow() else None
