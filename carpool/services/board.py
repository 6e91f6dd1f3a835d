"""The coordinators' week at a glance: upcoming trips by day, problems first.

Read-only queries for one association; no Flask. A trip is a match whose
pickup falls in the window; its stage is what a coordinator cares about
(``reminded`` = confirmed and the reminder has left).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased, defer

from carpool.clock import PARIS
from carpool.models import (
    Commune,
    Driver,
    Match,
    MatchStatus,
    OutboundMessage,
    OutboundStatus,
    Purpose,
    Request,
    Resident,
)

NEEDS = {"wheelchair": "fauteuil roulant", "walker": "déambulateur", "boarding_help": "aide pour monter"}
PURPOSES = {
    Purpose.MEDICAL: "santé",
    Purpose.SHOPPING: "courses",
    Purpose.ADMINISTRATION: "démarches",
    Purpose.SOCIAL: "vie sociale",
    Purpose.OTHER: "autre",
}
STAGES = {
    "proposed": "proposé au conducteur",
    "accepted": "accepté, à confirmer",
    "confirmed": "confirmé",
    "reminded": "rappel envoyé",
    "done": "effectué",
    "cancelled": "annulé",
    "declined": "refusé",
    "expired": "sans réponse",
    "no_show": "absent",
}
#: A proposal still unanswered after this long is a problem to look at.
SLOW_ANSWER = timedelta(hours=4)
SHOWN = (
    MatchStatus.PROPOSED,
    MatchStatus.ACCEPTED,
    MatchStatus.CONFIRMED,
    MatchStatus.COMPLETED,
    MatchStatus.CANCELLED,
)


@dataclass(frozen=True)
class Trip:
    match_id: int
    request_id: int
    pickup_at: datetime
    stage: str
    passenger: str
    passenger_id: int
    needs: tuple[str, ...]
    driver: str
    driver_id: int
    origin: str
    destination: str
    purpose: str | None  # None when the viewer may not see trip purposes
    problem: str | None = None

    @property
    def stage_label(self) -> str:
        return STAGES[self.stage]


@dataclass(frozen=True)
class FailedSms:
    outbox_id: int
    created_at: datetime
    error: str
    resident_id: int | None
    who: str


@dataclass
class Board:
    days: dict[date, list[Trip]] = field(default_factory=dict)
    problems: list[Trip] = field(default_factory=list)
    failed_sms: list[FailedSms] = field(default_factory=list)


def week(
    session: Session, association_id: int, now: datetime, *, days: int = 7, with_purpose: bool = False
) -> Board:
    """Trips from the start of today (Paris) for ``days`` days; problems listed first."""
    start = datetime.combine(now.astimezone(PARIS).date(), datetime.min.time(), tzinfo=PARIS)
    end = start + timedelta(days=days)
    trips = _trips(session, association_id, start, end, now, with_purpose)
    board = Board(days={(start + timedelta(days=n)).date(): [] for n in range(days)})
    for trip in trips:
        board.days.setdefault(trip.pickup_at.astimezone(PARIS).date(), []).append(trip)
        if trip.problem:
            board.problems.append(trip)
    board.failed_sms = failed_sms(session, association_id, now - timedelta(days=days))
    return board


def _trips(
    session: Session, association_id: int, start: datetime, end: datetime, now: datetime, with_purpose: bool
) -> list[Trip]:
    origin, destination = aliased(Commune), aliased(Commune)
    rows = session.execute(
        sa.select(Match, Request, Resident, Driver, origin.name, destination.name)
        .join(Request, Match.request_id == Request.id)
        .join(Resident, Request.resident_id == Resident.id)
        .join(Driver, Match.driver_id == Driver.id)
        .join(origin, origin.insee == Request.pickup_commune_insee)
        .join(destination, destination.insee == Request.dropoff_commune_insee)
        .where(
            Request.association_id == association_id,
            Match.pickup_at >= start,
            Match.pickup_at < end,
            Match.status.in_(SHOWN),
        )
        .order_by(Match.pickup_at, Match.id)
        # Geometries are not shown here: decoding hundreds of WKB points was most of the page's time.
        .options(
            defer(Request.pickup_point),
            defer(Request.dropoff_point),
            defer(Resident.home_point),
            defer(Driver.home_point),
        )
    ).all()
    reminded = _reminded(session, [row.Match.id for row in rows])
    return [
        Trip(
            match_id=m.id,
            request_id=r.id,
            pickup_at=m.pickup_at,
            stage=_stage(m, m.id in reminded),
            passenger=f"{p.first_name} {p.last_name}".strip(),
            passenger_id=p.id,
            needs=tuple(NEEDS[n] for n in sorted(p.needs)),
            driver=f"{d.first_name} {d.last_name}",
            driver_id=d.id,
            origin=o,
            destination=t,
            purpose=PURPOSES[r.purpose] if with_purpose else None,
            problem=_problem(m, now),
        )
        for m, r, p, d, o, t in rows
    ]


def _stage(match: Match, reminded: bool) -> str:
    if match.status is MatchStatus.COMPLETED:
        return "done"
    if match.status is MatchStatus.CONFIRMED and reminded:
        return "reminded"
    return match.status.value


def _problem(match: Match, now: datetime) -> str | None:
    if match.status is MatchStatus.CANCELLED:
        who = (match.cancelled_by or "").split(":")[0]
        by = {"driver": "par le conducteur", "resident": "par le passager", "user": "par la coordination"}
        return f"annulé {by.get(who, '')}".strip() + (
            f" : {match.cancel_reason}" if match.cancel_reason else ""
        )
    waiting = now - (match.status_changed_at or match.created_at)
    if match.status is MatchStatus.PROPOSED and waiting >= SLOW_ANSWER:
        return f"le conducteur n'a pas répondu depuis {int(waiting.total_seconds() // 3600)} h"
    if match.status is MatchStatus.ACCEPTED and waiting >= SLOW_ANSWER:
        return f"le passager n'a pas confirmé depuis {int(waiting.total_seconds() // 3600)} h"
    return None


def _reminded(session: Session, match_ids: list[int]) -> set[int]:
    if not match_ids:
        return set()
    keys = [f"match:{i}:reminder:eve" for i in match_ids] + [f"match:{i}:reminder:1h" for i in match_ids]
    sent = session.scalars(
        sa.select(OutboundMessage.idempotency_key).where(
            OutboundMessage.idempotency_key.in_(keys),
            OutboundMessage.status.in_((OutboundStatus.SENT, OutboundStatus.DELIVERED)),
        )
    )
    return {int(key.split(":")[1]) for key in sent}


def failed_sms(session: Session, association_id: int, since: datetime) -> list[FailedSms]:
    """SMS that could not be delivered lately, with whom they were for (never the number)."""
    rows = session.execute(
        sa.select(OutboundMessage, Resident.id, Resident.first_name, Resident.last_name, Driver.first_name)
        .outerjoin(Resident, Resident.phone == OutboundMessage.to_phone)
        .outerjoin(Driver, Driver.phone == OutboundMessage.to_phone)
        .where(
            OutboundMessage.association_id == association_id,
            OutboundMessage.status == OutboundStatus.FAILED,
            OutboundMessage.created_at >= since,
        )
        .order_by(OutboundMessage.created_at.desc())
        .limit(50)
    ).all()
    failed = []
    for message, resident_id, first, last, driver_first in rows:
        who = (
            f"{first} {last}".strip()
            if first
            else (f"{driver_first} (conducteur)" if driver_first else "inconnu")
        )
        error = message.error_message or message.error_code or "échec"
        failed.append(FailedSms(message.id, message.created_at, error, resident_id, who))
    return failed
