"""The coordinators' week at a glance: texts waiting for a person, then upcoming trips by
day, problems first.

Read-only queries for one association; no Flask. A trip is a match whose
pickup falls in the window; its stage is what a coordinator cares about
(``reminded`` = confirmed and the reminder has left).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from carpool.clock import PARIS
from carpool.labels import NEEDS, PURPOSES
from carpool.models.messages import OutboundMessage, OutboundStatus
from carpool.models.people import Driver, Resident
from carpool.models.places import Commune
from carpool.models.trips import SEAT_HOLDING, Leg, Match, MatchStatus, Request
from carpool.services import desk

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
LEG_LABELS = {Leg.OUT: "aller", Leg.BACK: "retour"}
HALF_COVERED = "aller trouvé, retour manquant"
#: A proposal still unanswered after this long is a problem to look at.
SLOW_ANSWER = timedelta(hours=4)
SHOWN = (
    MatchStatus.PROPOSED,
    MatchStatus.ACCEPTED,
    MatchStatus.CONFIRMED,
    MatchStatus.COMPLETED,
    MatchStatus.CANCELLED,
)


@dataclass(frozen=True, slots=True)
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
    leg: Leg = Leg.OUT
    #: The outward leg has a driver, the way back asked for has none ("aller trouvé, retour manquant").
    way_back_missing: bool = False

    @property
    def stage_label(self) -> str:
        return STAGES[self.stage]

    @property
    def leg_label(self) -> str:
        return LEG_LABELS[self.leg]


@dataclass(frozen=True)
class FailedSms:
    outbox_id: int
    created_at: datetime
    error: str
    resident_id: int | None
    who: str
    channel: str = "sms"  # "voice": a call nobody answered (after its retries)


@dataclass
class Board:
    days: dict[date, list[Trip]] = field(default_factory=dict)
    problems: list[Trip] = field(default_factory=list)
    #: Round trips whose way back nobody drives yet: listed before every other problem.
    half_covered: list[Trip] = field(default_factory=list)
    failed_sms: list[FailedSms] = field(default_factory=list)
    to_handle: list[desk.MessageToHandle] = field(default_factory=list)
    messages_to_handle: int = 0  # all of them; ``to_handle`` shows the newest


def week(
    session: Session, association_id: int, now: datetime, *, days: int = 7, with_purpose: bool = False
) -> Board:
    """Texts waiting for a person, and trips from the start of today (Paris) for ``days`` days;
    problems listed first."""
    start = datetime.combine(now.astimezone(PARIS).date(), datetime.min.time(), tzinfo=PARIS)
    end = start + timedelta(days=days)
    trips = _trips(session, association_id, start, end, now, with_purpose)
    board = Board(days={(start + timedelta(days=n)).date(): [] for n in range(days)})
    for trip in trips:
        board.days.setdefault(trip.pickup_at.astimezone(PARIS).date(), []).append(trip)
        if trip.way_back_missing:
            board.half_covered.append(trip)
        if trip.problem:
            board.problems.append(trip)
    board.failed_sms = failed_sms(session, association_id, now - timedelta(days=days))
    waiting = desk.messages_to_handle(session, association_id)
    board.to_handle, board.messages_to_handle = waiting.shown, waiting.total
    return board


def trips_between(
    columns: Callable[[Any, Any], Sequence[Any]],
    association_id: int,
    start: datetime,
    end: datetime,
    states: Iterable[MatchStatus],
) -> sa.Select[Any]:
    """The association's matches picking up in [start, end) in ``states``, in pickup order.

    ``columns(origin, destination)`` picks what to read; ``origin`` and ``destination`` are the
    communes this leg leaves from and goes to (home → appointment, or the way back).
    """
    origin, destination = aliased(Commune), aliased(Commune)
    back = Match.leg == Leg.BACK
    leaves = sa.case((back, Request.dropoff_commune_insee), else_=Request.pickup_commune_insee)
    goes = sa.case((back, Request.pickup_commune_insee), else_=Request.dropoff_commune_insee)
    return (
        sa.select(*columns(origin, destination))
        .join(Request, Match.request_id == Request.id)
        .join(Resident, Request.resident_id == Resident.id)
        .join(Driver, Match.driver_id == Driver.id)
        .join(origin, origin.insee == leaves)
        .join(destination, destination.insee == goes)
        .where(
            Request.association_id == association_id,
            Match.pickup_at >= start,
            Match.pickup_at < end,
            Match.status.in_(states),
        )
        .order_by(Match.pickup_at, Match.id)
    )


def _trips(
    session: Session, association_id: int, start: datetime, end: datetime, now: datetime, with_purpose: bool
) -> list[Trip]:
    # Plain columns, not entities: a département has hundreds of trips a week, and loading four
    # whole entities per trip (then geometries, timestamps...) was most of the page's time.
    rows: Iterable[Any] = session.execute(
        trips_between(
            lambda origin, destination: (
                Match.id,
                Match.request_id,
                Match.pickup_at,
                Match.status,
                sa.func.coalesce(Match.status_changed_at, Match.created_at),
                Match.cancelled_by,
                Match.cancel_reason,
                Request.purpose,
                Resident.id,
                Resident.first_name,
                Resident.last_name,
                Resident.uses_wheelchair,
                Resident.uses_walker,
                Resident.needs_help_boarding,
                Driver.id,
                Driver.first_name,
                Driver.last_name,
                origin.name,
                destination.name,
                sa.case((Match.status == MatchStatus.CONFIRMED, _reminder_sent()), else_=sa.false()),
                Match.leg,
                sa.and_(
                    Match.leg == Leg.OUT,
                    Match.status.in_(SEAT_HOLDING),
                    Request.return_at.is_not(None),
                    Request.one_way.is_(False),
                    ~_live_way_back(),
                ),
            ),
            association_id,
            start,
            end,
            SHOWN,
        )
    )  # read as the trips are made: the rows need not all be alive at once
    return [
        Trip(
            match_id=match_id,
            request_id=request_id,
            pickup_at=pickup_at,
            stage=_stage(status, bool(reminded)),
            passenger=f"{first} {last}".strip(),
            passenger_id=passenger_id,
            needs=_NEEDS[bool(wheelchair), bool(walker), bool(boarding_help)],
            driver=f"{driver_first} {driver_last}",
            driver_id=driver_id,
            origin=o,
            destination=t,
            purpose=PURPOSES[purpose] if with_purpose else None,
            problem=_problem(status, cancelled_by, cancel_reason, changed_at, now),
            leg=leg,
            way_back_missing=bool(half),
        )
        for (
            match_id,
            request_id,
            pickup_at,
            status,
            changed_at,
            cancelled_by,
            cancel_reason,
            purpose,
            passenger_id,
            first,
            last,
            wheelchair,
            walker,
            boarding_help,
            driver_id,
            driver_first,
            driver_last,
            o,
            t,
            reminded,
            leg,
            half,
        ) in rows
    ]


def _live_way_back() -> sa.Exists:
    """Whether the row's request has a way back someone holds (proposed, accepted or confirmed)."""
    back = aliased(Match)
    return sa.exists().where(
        back.request_id == Request.id, back.leg == Leg.BACK, back.status.in_(SEAT_HOLDING)
    )


def _reminder_sent() -> sa.Exists:
    """Whether the evening-before or one-hour reminder of the row's match has left."""
    key = sa.literal("match:") + sa.cast(Match.id, sa.String) + sa.literal(":reminder:")
    return sa.exists().where(
        OutboundMessage.idempotency_key.in_([key + sa.literal("eve"), key + sa.literal("1h")]),
        OutboundMessage.status.in_((OutboundStatus.SENT, OutboundStatus.DELIVERED)),
    )


def _needs_labels(wheelchair: bool, walker: bool, boarding_help: bool) -> tuple[str, ...]:
    """The labels of ``Resident.needs`` from its three flags, in the order of the needs' names."""
    flags = {"wheelchair": wheelchair, "walker": walker, "boarding_help": boarding_help}
    return tuple(NEEDS[name] for name in sorted(flags) if flags[name])


#: (wheelchair, walker, boarding_help) → labels, for every combination.
_NEEDS = {flags: _needs_labels(*flags) for flags in itertools.product((False, True), repeat=3)}


def _stage(status: MatchStatus, reminded: bool) -> str:
    if status is MatchStatus.COMPLETED:
        return "done"
    if status is MatchStatus.CONFIRMED and reminded:
        return "reminded"
    return status.value


def _problem(
    status: MatchStatus, cancelled_by: str | None, cancel_reason: str | None, since: datetime, now: datetime
) -> str | None:
    """What is wrong with a trip; ``since`` is when its status last changed."""
    if status is MatchStatus.CANCELLED:
        who = (cancelled_by or "").split(":")[0]
        by = {"driver": "par le conducteur", "resident": "par le passager", "user": "par la coordination"}
        return f"annulé {by.get(who, '')}".strip() + (f" : {cancel_reason}" if cancel_reason else "")
    waiting = now - since
    if status is MatchStatus.PROPOSED and waiting >= SLOW_ANSWER:
        return f"le conducteur n'a pas répondu depuis {int(waiting.total_seconds() // 3600)} h"
    if status is MatchStatus.ACCEPTED and waiting >= SLOW_ANSWER:
        return f"le passager n'a pas confirmé depuis {int(waiting.total_seconds() // 3600)} h"
    return None


def failed_sms(session: Session, association_id: int, since: datetime) -> list[FailedSms]:
    """SMS that could not be delivered lately, with whom they were for (never the number).

    The resident by the id the sender stored, a driver by number within the association:
    a number alone may be a driver's and a resident's, or another association's driver's.
    """
    to_driver = sa.and_(
        OutboundMessage.resident_id.is_(None),
        Driver.phone == OutboundMessage.to_phone,
        Driver.association_id == OutboundMessage.association_id,
    )
    rows = session.execute(
        sa.select(OutboundMessage, Resident.id, Resident.first_name, Resident.last_name, Driver.first_name)
        .outerjoin(Resident, Resident.id == OutboundMessage.resident_id)
        .outerjoin(Driver, to_driver)
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
        failed.append(FailedSms(message.id, message.created_at, error, resident_id, who, message.channel))
    return failed
