"""Builders for the scheduler tests: an association, residents and matches in any state, at any time."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import sqlalchemy as sa
from factories import CAHORS, CAJARC, WHERE, add_driver, add_resident

from carpool.clock import Clock
from carpool.config import Settings
from carpool.db import Database, point
from carpool.jobs import run_job
from carpool.models import (
    Association,
    AuditEvent,
    Match,
    MatchStatus,
    OutboundMessage,
    OutboundStatus,
    Purpose,
    Request,
    RequestSource,
    RequestStatus,
)

_phones = itertools.count(1000)
RIDE = timedelta(minutes=40)


def association(session) -> Association:
    association = Association(
        name=f"Lot Mobilité {next(_phones)}", sms_number="0639980000", phone="0539980001"
    )
    session.add(association)
    session.flush()
    return association


resident = add_resident
"""A resident of ``association`` (Jeanne Delpech in Cajarc, a fresh phone number)."""


def request(session, association, person, *, latest: datetime, status=RequestStatus.MATCHED) -> Request:
    ride = Request(
        association_id=association.id,
        resident_id=person.id,
        pickup_commune_insee=CAJARC,
        pickup_point=point(*WHERE[CAJARC]),
        dropoff_commune_insee=CAHORS,
        dropoff_point=point(*WHERE[CAHORS]),
        earliest=latest - timedelta(hours=3),
        latest=latest,
        purpose=Purpose.MEDICAL,
        source=RequestSource.PHONE,
        status=status,
    )
    session.add(ride)
    session.flush()
    return ride


def trip(
    session,
    association,
    *,
    pickup_at: datetime,
    booked_at: datetime,
    status: MatchStatus = MatchStatus.CONFIRMED,
    driver=None,
    person=None,
) -> Match:
    """A dedicated-volunteer match (no offer) booked at ``booked_at`` for ``pickup_at``."""
    person = person or resident(session, association)
    driver = driver or add_driver(session, association)
    ride = request(session, association, person, latest=pickup_at + RIDE + timedelta(minutes=10))
    match = Match(
        request_id=ride.id,
        driver_id=driver.id,
        pickup_at=pickup_at,
        dropoff_at=pickup_at + RIDE,
        status=status,
        status_changed_at=booked_at,
        created_at=booked_at,
    )
    session.add(match)
    session.flush()
    return match


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
