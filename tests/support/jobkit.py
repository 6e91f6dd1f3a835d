"""Helpers of the scheduler tests: run a tick, read the outbox and the audit trail."""

from __future__ import annotations

import sqlalchemy as sa

from carpool.clock import Clock
from carpool.config import Settings
from carpool.db import Database
from carpool.jobs import run_job
from carpool.models import (
    AuditEvent,
    OutboundMessage,
    OutboundStatus,
)


def tick(db: Database, clock: Clock, *names: str, settings: Settings | None = None) -> None:
    """One scheduler tick: the named jobs (default: every job but retention), each committed."""
    for name in names or ("expire_proposals", "expire_requests", "complete_trips", "notices"):
        outcome = run_job(db, name, clock, settings=settings)
        assert outcome.ok, outcome.result


def outbox(db: Database, prefix: str = "match:") -> dict[str, OutboundMessage]:
    with db.session() as session:
        rows = session.scalars(
            sa.select(OutboundMessage).where(OutboundMessage.idempotency_key.startswith(prefix))
        )
        return {row.idempotency_key: row for row in rows}


def queued(db: Database) -> dict[str, OutboundMessage]:
    return {k: r for k, r in outbox(db).items() if r.status is not OutboundStatus.CANCELLED}


def audits(db: Database, action: str) -> list[AuditEvent]:
    with db.session() as session:
        return list(
            session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        )
