"""Budgets of SMS, counted in the database: the guard against SMS pumping.

Every reply costs the association money, and an attacker who makes the service
answer premium, foreign or random numbers gets paid for it. A budget is one row
per key (``number:<digest>``, ``global``…) whose count is raised by a single
``INSERT … ON CONFLICT DO UPDATE … WHERE count <= limit RETURNING count``: the
database serialises concurrent writers on that row, so several web workers
never grant more than the limit between them.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import PARIS
from carpool.db import dialect_of
from carpool.models.messages import SmsCounter

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class ReplyLimits:
    """How many replies the service sends in an hour, to one number and in all."""

    per_number_hour: int = 10
    global_hour: int = 300


class Verdict(enum.Enum):
    GRANTED = "granted"
    REACHED = "reached"  # the first refusal in this window: the moment to tell someone
    REFUSED = "refused"  # refused again, already told


def number_key(kind: str, phone: str) -> str:
    """A counter key for one number that does not spell the number (counters are not personal data)."""
    return f"{kind}:{hashlib.sha256(phone.encode()).hexdigest()[:32]}"


def hour_window(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0)


def paris_day_window(now: datetime) -> datetime:
    """Midnight in Paris, the day a person sees, as the start of a daily window."""
    local = now.astimezone(PARIS)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(now.tzinfo)


def take(session: Session, key: str, limit: int, window_start: datetime) -> Verdict:
    """Count one SMS against ``key``'s budget of ``limit`` per window starting at ``window_start``.

    The count stops one past the limit: the one caller that sees ``limit + 1``
    learns the budget was just reached (one alert), later callers see no row.
    """
    table: Any = SmsCounter.__table__
    statement: Any = _insert(dialect_of(session))(table).values(key=key, window_start=window_start, count=1)
    same_window = table.c.window_start == statement.excluded.window_start
    statement = statement.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "count": sa.case((same_window, table.c.count + 1), else_=1),
            "window_start": statement.excluded.window_start,
        },
        where=sa.or_(sa.not_(same_window), table.c.count <= limit),
    ).returning(table.c.count)
    count = session.execute(statement).scalar()
    if count is None:
        return Verdict.REFUSED
    if count <= limit:
        return Verdict.GRANTED
    return Verdict.REACHED


def _insert(dialect_name: str) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT DO UPDATE."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert
