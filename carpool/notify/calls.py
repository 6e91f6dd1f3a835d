"""When a call may ring, and what happens when nobody answers: pure rules over times.

Calls ring from 09:00 to 19:00 Paris time; a call about a trip within 24 h may ring
at any time (the 1-hour reminder of a 08:00 trip). A call not answered (no answer,
busy, failed, an answering machine) is placed again twice, ``retry_minutes`` apart,
then the coordinators are told.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from carpool.clock import PARIS

RING_FROM, RING_UNTIL = time(9, 0), time(19, 0)
#: The audit action coordinators see when the hourly call budget holds calls back.
CALL_BUDGET_REACHED = "call_budget_reached"
RETRIES = 2  # after the first call: three calls in all
URGENT = timedelta(hours=24)
#: Twilio's final call statuses that mean the person was not reached.
NOT_REACHED = frozenset({"no-answer", "busy", "failed", "canceled"})
FINAL = NOT_REACHED | {"completed"}
#: ``AnsweredBy`` values of answering-machine detection that are not a person.
MACHINE = frozenset({"machine_start", "machine_end_beep", "machine_end_silence", "machine_end_other", "fax"})


def may_ring(now: datetime, trip_at: datetime | None) -> bool:
    """True during 09:00-19:00 in Paris, or at any hour for a trip within 24 h."""
    if trip_at is not None and trip_at - now <= URGENT:
        return True
    local = now.astimezone(PARIS).time()
    return RING_FROM <= local < RING_UNTIL


def next_ring(now: datetime, trip_at: datetime | None) -> datetime:
    """``now`` if a call may ring now, else the next 09:00 in Paris (or when the trip gets near)."""
    if may_ring(now, trip_at):
        return now
    local = now.astimezone(PARIS)
    day = local.date() if local.time() < RING_FROM else local.date() + timedelta(days=1)
    opening = datetime.combine(day, RING_FROM, tzinfo=PARIS).astimezone(now.tzinfo)
    if trip_at is not None and trip_at - URGENT < opening:
        return max(now, trip_at - URGENT)
    return opening


def retry_key(key: str, attempt: int) -> str:
    """The outbox key of the ``attempt``-th call again (1, 2) for the notice named ``key``."""
    base = key.split(":again:")[0]
    return f"{base}:again:{attempt}"


def retry_number(key: str) -> int:
    """0 for a first call, n for the n-th call again (see ``retry_key``)."""
    _, _, tail = key.partition(":again:")
    return int(tail) if tail.isdigit() else 0


@dataclass(frozen=True)
class CallLimits:
    """How many calls the dispatcher places in an hour, to one number and in all (they cost money)."""

    per_number_hour: int = 4
    global_hour: int = 60


def voice_url(public_base_url: str, outbox_id: int) -> str:
    """The TwiML Twilio fetches when the person picks up (carpool/web/voice/outbound.py)."""
    return f"{public_base_url.rstrip('/')}/voice/outbound/{outbox_id}"


def call_status_url(public_base_url: str, outbox_id: int) -> str:
    """The status callback carries the outbox id, so a late status reveals which row was called."""
    return f"{public_base_url.rstrip('/')}/voice/status?outbox={outbox_id}"
