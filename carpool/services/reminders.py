"""The SMS a booking owes people over time: confirmation, reminders, expiry notice, feedback question.

Every notice is derived from the match row and named by a unique outbox key
(``match:42:reminder:eve``), so a job that runs twice, late, or after a crash
queues each one exactly once. Each notice has a window: before ``due_at`` it
waits, after ``useful_until`` it is pointless (the trip is past, or the next
notice replaces it). A notice missed for good leaves a *cancelled* outbox row
under its key (so it is never reconsidered) and an audit event coordinators see.

Quiet hours: nothing is sent between 21:00 and 08:00 (Europe/Paris), except the
1-hour reminder of a trip before 09:00 (a 7:30 pickup is reminded at 6:30).
Local times are built with zoneinfo, so 18:00 "the day before" stays 18:00
across daylight-saving changes; due times are instants in UTC, so an hour that
happens twice (the night of 25 October) cannot trigger two sends.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from carpool.clock import PARIS, Clock
from carpool.models.messages import OutboundMessage, OutboundStatus
from carpool.models.people import Driver, Resident
from carpool.models.places import Commune
from carpool.models.trips import Leg, Match, MatchStatus, Request, RequestStatus
from carpool.notify.compose import render
from carpool.notify.outbox import enqueue, enqueue_notice, is_opted_out
from carpool.services import audit

QUIET_FROM, QUIET_UNTIL = time(21, 0), time(8, 0)
EARLY_TRIP_BEFORE = time(9, 0)  # such trips get their 1-hour reminder even at night
EVE_AT = time(18, 0)
EVENING_FALLBACK = time(20, 45)  # the 1-hour reminder of a 22:00 trip leaves before quiet hours
HOUR_BEFORE = timedelta(hours=1)
FEEDBACK_AFTER = timedelta(hours=2)
FEEDBACK_USEFUL = timedelta(days=2)
#: How far back the job looks for notices to send or to record as skipped.
HORIZON = timedelta(days=3)
#: The states in which a match may still owe a notice.
NOTICE_STATES = (MatchStatus.CONFIRMED, MatchStatus.COMPLETED, MatchStatus.EXPIRED)
#: A leg counts as confirmed for the resident's round-trip confirmation in these states.
CONFIRMED_STATES = (MatchStatus.CONFIRMED, MatchStatus.COMPLETED)
#: The other leg of a round trip, as the texts name it.
LEG_ON = (MatchStatus.PROPOSED, MatchStatus.ACCEPTED, MatchStatus.CONFIRMED, MatchStatus.COMPLETED)
SKIPPED_COLUMNS = (Request.pickup_point, Request.dropoff_point, Resident.home_point, Driver.home_point)


@dataclass(frozen=True)
class Notice:
    """One SMS a match owes someone, with the window in which it makes sense."""

    key: str
    kind: str  # "confirmed", "reminder.eve", "reminder.1h", "expired", "feedback"
    to_phone: str
    template: str
    context: dict[str, Any]
    due_at: datetime
    useful_until: datetime
    resident_id: int | None = None  # set when it goes to the resident, not to the driver

    @property
    def is_reminder(self) -> bool:
        return self.kind.startswith("reminder")


@dataclass(frozen=True)
class Booking:
    """What the notices of one match are made of (plain data: easy to plan and to test)."""

    match: Match
    request: Request
    resident: Resident
    driver: Driver
    place: str  # where this leg picks the resident up (the appointment's commune for the way back)
    #: The other leg of a round trip, live or done, with its driver (None: not booked, or no return).
    other: Match | None = None
    other_driver: Driver | None = None

    @property
    def round_trip(self) -> bool:
        return self.request.return_at is not None and not self.request.one_way

    @property
    def leg(self) -> str | None:
        """ "out" or "back" for a round trip (the texts say which way), None for a one-way trip."""
        return self.match.leg.value if self.round_trip else None

    def legs(self) -> tuple[tuple[Match, Driver], tuple[Match, Driver]] | None:
        """(outward, way back) with their drivers, once both are booked."""
        if self.other is None or self.other_driver is None:
            return None
        mine, other = (self.match, self.driver), (self.other, self.other_driver)
        return (mine, other) if self.match.leg is Leg.OUT else (other, mine)


@dataclass
class NoticeReport:
    queued: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[int, str, str]] = field(default_factory=list)  # (match id, kind, why)

    def __str__(self) -> str:
        if not self.queued and not self.skipped:
            return "rien à faire"
        parts = [f"{kind} : {count}" for kind, count in sorted(self.queued.items())]
        if self.skipped:
            listed = ", ".join(f"match {mid} {kind} ({why})" for mid, kind, why in self.skipped[:50])
            parts.append(f"ignorés : {len(self.skipped)} — {listed}")
        return "SMS mis en file : " + "; ".join(parts) if parts else "rien à faire"


# --- when ---------------------------------------------------------------------


def local_at(day: date, moment: time) -> datetime:
    """``moment`` on ``day`` in Paris, as an aware datetime (zoneinfo handles the offset of that day)."""
    return datetime.combine(day, moment, tzinfo=PARIS)


def is_quiet(moment: datetime) -> bool:
    local = moment.astimezone(PARIS).time()
    return local >= QUIET_FROM or local < QUIET_UNTIL


def after_quiet_hours(moment: datetime) -> datetime:
    """``moment``, or 08:00 when it falls in the night."""
    if not is_quiet(moment):
        return moment
    local = moment.astimezone(PARIS)
    day = local.date() + timedelta(days=1) if local.time() >= QUIET_FROM else local.date()
    return local_at(day, QUIET_UNTIL)


def eve_reminder_due(pickup_at: datetime) -> datetime:
    """18:00 on the day before the pickup, Paris time."""
    return local_at(pickup_at.astimezone(PARIS).date() - timedelta(days=1), EVE_AT)


def hour_reminder_due(pickup_at: datetime) -> datetime:
    """One hour before; at night only for trips before 09:00, otherwise earlier in the evening."""
    # In UTC: "one hour before" 03:30 on 29 March is 01:30 CET, not the 02:30 that never happens.
    due = pickup_at.astimezone(UTC) - HOUR_BEFORE
    local_pickup = pickup_at.astimezone(PARIS)
    if not is_quiet(due) or local_pickup.time() < EARLY_TRIP_BEFORE:
        return due
    return local_at(due.astimezone(PARIS).date(), EVENING_FALLBACK)


# --- what ---------------------------------------------------------------------


def confirmation_notices(booking: Booking) -> list[Notice]:
    match = booking.match
    return [
        *_passenger_confirmation(booking),
        Notice(
            f"match:{match.id}:confirmed:driver",
            "confirmed",
            booking.driver.phone,
            "driver_passenger_confirmed",
            {
                "passenger": booking.resident.first_name,
                "pickup_at": match.pickup_at,
                "place": booking.place,
                "leg": booking.leg,
            },
            match.created_at,
            match.pickup_at,
        ),
    ]


def _passenger_confirmation(booking: Booking) -> list[Notice]:
    """The resident's "confirmed": for a round trip one SMS naming both legs, once both are confirmed.

    Named after the outward match, so whichever leg is confirmed last queues it, once.
    """
    match = booking.match
    if not booking.round_trip:
        context = {
            "first_name": booking.driver.first_name,
            "pickup_at": match.pickup_at,
            "place": booking.place,
        }
        return [_to_resident(booking, match, "confirmed", context, match.created_at)]
    legs = booking.legs()
    if legs is None or any(m.status not in CONFIRMED_STATES for m, _d in legs):
        return []
    (out, out_driver), (back, back_driver) = legs
    context = {
        "first_name": out_driver.first_name,
        "pickup_at": out.pickup_at,
        "back_first_name": back_driver.first_name,
        "back_at": back.pickup_at,
    }
    # Keyed by both legs: a way back booked (or moved) later is confirmed again, each pair once.
    key = f"match:{out.id}:confirmed:passenger:back:{back.id}"
    due = max(out.created_at, back.created_at)
    return [_to_resident(booking, out, "confirmed_round_trip", context, due, key)]


def _to_resident(
    booking: Booking, match: Match, template: str, context: dict[str, Any], due: datetime, key: str = ""
) -> Notice:
    return Notice(
        key or f"match:{match.id}:confirmed:passenger",
        "confirmed",
        booking.resident.phone,
        template,
        context,
        due,
        match.pickup_at,
        resident_id=booking.resident.id,
    )


def reminder_notices(booking: Booking) -> list[Notice]:
    """The eve reminders (passenger and driver) and the 1-hour one (passenger: the driver is driving)."""
    match = booking.match
    hour_due = hour_reminder_due(match.pickup_at)
    eve_due = eve_reminder_due(match.pickup_at)
    eve_until = min(local_at(eve_due.astimezone(PARIS).date(), QUIET_FROM), hour_due)
    notices = []
    # Booked after a reminder's time: the confirmation just said it all.
    if match.created_at < eve_due:
        passenger = {
            "first_name": booking.driver.first_name,
            "pickup_at": match.pickup_at,
            "leg": booking.leg,
        }
        notices += [
            Notice(
                f"match:{match.id}:reminder:eve",
                "reminder.eve",
                booking.resident.phone,
                "reminder_eve",
                {**passenger, "place": booking.place},
                eve_due,
                eve_until,
                resident_id=booking.resident.id,
            ),
            Notice(
                f"match:{match.id}:reminder:eve:driver",
                "reminder.eve",
                booking.driver.phone,
                "driver_reminder_eve",
                {
                    "passenger": booking.resident.first_name,
                    "pickup_at": match.pickup_at,
                    "place": booking.place,
                    "leg": booking.leg,
                },
                eve_due,
                eve_until,
            ),
        ]
    if match.created_at < hour_due:
        notices.append(
            Notice(
                f"match:{match.id}:reminder:1h",
                "reminder.1h",
                booking.resident.phone,
                "reminder_1h",
                {
                    "first_name": booking.driver.first_name,
                    "pickup_at": match.pickup_at,
                    "place": booking.place,
                    "leg": booking.leg,
                },
                hour_due,
                match.pickup_at,
                resident_id=booking.resident.id,
            )
        )
    return notices


def expiry_notice(booking: Booking) -> Notice:
    match = booking.match
    assert match.status_changed_at is not None
    # Both legs of a round trip expire together (a volunteer who waits answers once): one SMS.
    key = (
        f"request:{booking.request.id}:expired:{match.status_changed_at:%Y%m%d%H%M}"
        if booking.round_trip
        else f"match:{match.id}:expired"
    )
    return Notice(
        key,
        "expired",
        booking.resident.phone,
        "proposal_expired",
        {"day": booking.request.latest},
        after_quiet_hours(match.status_changed_at),
        booking.request.latest,
        resident_id=booking.resident.id,
    )


def feedback_notice(booking: Booking) -> Notice:
    match = booking.match
    return Notice(
        f"match:{match.id}:feedback",
        "feedback",
        booking.resident.phone,
        "feedback_ask",
        {"driver": booking.driver.first_name},
        after_quiet_hours(match.dropoff_at.astimezone(UTC) + FEEDBACK_AFTER),
        match.dropoff_at.astimezone(UTC) + FEEDBACK_USEFUL,
        resident_id=booking.resident.id,
    )


def plan(booking: Booking) -> list[Notice]:
    """Every notice this match owes, whatever has been sent already."""
    status = booking.match.status
    if status is MatchStatus.EXPIRED:
        waiting = booking.request.status in (RequestStatus.OPEN, RequestStatus.EXPIRED)
        return [expiry_notice(booking)] if waiting else []
    notices = confirmation_notices(booking) + reminder_notices(booking)
    if status is MatchStatus.COMPLETED:
        notices.append(feedback_notice(booking))
    return notices


# --- sending ------------------------------------------------------------------


def send_due(session: Session, clock: Clock) -> NoticeReport:
    """Queue every notice now due and not yet queued; record those missed for good."""
    now = clock.now()
    report = NoticeReport()
    bookings = list(_bookings(session, now))
    notices = [(b, n) for b in bookings for n in plan(b) if n.due_at <= now]
    done = _existing_keys(session, [n.key for _b, n in notices])
    for booking, notice in notices:
        if notice.key in done:
            continue
        if now < notice.useful_until:
            _queue(session, booking, notice, now, report)
        else:
            _skip(session, booking, notice, report)
    return report


def enqueue_confirmation(session: Session, booking: Booking) -> None:
    """Queue both confirmations now (the SMS conversation calls this when a resident books)."""
    for notice in confirmation_notices(booking):
        enqueue_planned(session, booking, notice)


def tell_out_only(session: Session, back: Match, now: datetime) -> None:
    """The way back ended without a driver while the way there is confirmed: tell the resident so.

    The resident hears "confirmed" only once both legs are; without this SMS a
    confirmed outward leg whose way back was declined, expired or cancelled would
    never be announced. It is the one text the resident gets about that way back: it
    names the volunteer who cannot bring them home (declined, cancelled), so the
    driver's decline or cancellation is not told a second time (see ``told_out_only``).
    Sent once per lost way back (``request:<id>:out-only:<match id>``), and not when the
    round trip was confirmed already (the driver's cancellation says it).
    """
    out = session.scalar(
        sa.select(Match).where(
            Match.request_id == back.request_id, Match.leg == Leg.OUT, Match.status == MatchStatus.CONFIRMED
        )
    )
    if out is None or _live_back(session, back.request_id):
        return
    confirmed = session.scalar(
        sa.select(OutboundMessage.id)
        .where(OutboundMessage.idempotency_key.like(f"match:{out.id}:confirmed:passenger%"))
        .limit(1)
    )
    if confirmed is not None:
        return
    booking = booking_of(session, out)
    if not booking.round_trip:
        return
    # The volunteer who said no (declined, cancelled his trip) is named; nobody when it expired
    # or a coordinator cancelled it.
    said_no = back.status is MatchStatus.DECLINED or (back.cancelled_by or "").startswith("driver")
    lost = session.get_one(Driver, back.driver_id) if said_no else None
    enqueue_notice(
        session,
        out_only_key(back),
        booking.resident,
        render(
            "out_only",
            first_name=booking.driver.first_name,
            pickup_at=out.pickup_at,
            lost_first_name=lost.first_name if lost else None,
            back_at=back.pickup_at,
        ),
        association_id=booking.request.association_id,
        not_before=after_quiet_hours(now),
        trip_at=out.pickup_at,
    )


def out_only_key(back: Match) -> str:
    return f"request:{back.request_id}:out-only:{back.id}"


def told_out_only(session: Session, back: Match) -> bool:
    """Whether the resident got (or will get) the out-only text about this lost way back:
    then it is the only text about it, the decline or cancellation is not told again."""
    return (
        back.leg is Leg.BACK
        and session.scalar(
            sa.select(OutboundMessage.id).where(OutboundMessage.idempotency_key == out_only_key(back))
        )
        is not None
    )


def _live_back(session: Session, request_id: int) -> bool:
    """Another way back is on its way (proposed to confirmed): the resident will hear about it."""
    return (
        session.scalar(
            sa.select(Match.id)
            .where(Match.request_id == request_id, Match.leg == Leg.BACK, Match.status.in_(LEG_ON))
            .limit(1)
        )
        is not None
    )


def booking_of(session: Session, match: Match) -> Booking:
    request = session.get_one(Request, match.request_id)
    other = _other_legs(session, [match]).get(match.id)
    insee = request.dropoff_commune_insee if match.leg is Leg.BACK else request.pickup_commune_insee
    return Booking(
        match,
        request,
        session.get_one(Resident, request.resident_id),
        session.get_one(Driver, match.driver_id),
        session.get_one(Commune, insee).name,
        *(other or (None, None)),
    )


def _other_legs(session: Session, matches: list[Match]) -> dict[int, tuple[Match, Driver]]:
    """For each match, the other leg of its request still on (proposed to completed), with its driver."""
    ids = {m.request_id for m in matches}
    if not ids:
        return {}
    rows = session.execute(
        sa.select(Match, Driver)
        .join(Driver, Match.driver_id == Driver.id)
        .where(Match.request_id.in_(ids), Match.status.in_(LEG_ON))
        .options(defer(Driver.home_point))
    ).all()
    by_leg = {(m.request_id, m.leg): (m, d) for m, d in rows}
    found = {}
    for match in matches:
        other = by_leg.get((match.request_id, Leg.BACK if match.leg is Leg.OUT else Leg.OUT))
        if other is not None:
            found[match.id] = other
    return found


def _bookings(session: Session, now: datetime) -> Iterable[Booking]:
    rows = session.execute(
        sa.select(Match, Request, Resident, Driver, Commune.name)
        .join(Request, Match.request_id == Request.id)
        .join(Resident, Request.resident_id == Resident.id)
        .join(Driver, Match.driver_id == Driver.id)
        .join(
            Commune,
            Commune.insee
            == sa.case(
                (Match.leg == Leg.BACK, Request.dropoff_commune_insee), else_=Request.pickup_commune_insee
            ),
        )
        .where(Match.status.in_(NOTICE_STATES), Match.pickup_at >= now - HORIZON)
        # Once the feedback question is queued the match owes nothing more: everything
        # earlier was queued or recorded as skipped in that same pass.
        .where(Match.feedback_asked_at.is_(None))
        .order_by(Match.pickup_at, Match.id)
        # Geometries are not needed here and cost most of the loading time of an idle tick.
        .options(*(defer(column) for column in SKIPPED_COLUMNS))
    ).all()
    others = _other_legs(session, [row[0] for row in rows if row[1].return_at is not None])
    for match, request, resident, driver, place in rows:
        yield Booking(match, request, resident, driver, place, *others.get(match.id, (None, None)))


def _existing_keys(session: Session, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found.update(
            session.scalars(
                sa.select(OutboundMessage.idempotency_key).where(OutboundMessage.idempotency_key.in_(chunk))
            )
        )
    return found


def enqueue_planned(session: Session, booking: Booking, notice: Notice) -> OutboundMessage | None:
    """The notice's outbox row, under its unique key (None: the person said STOP)."""
    if notice.resident_id is not None and notice.resident_id == booking.resident.id:
        return enqueue_notice(
            session,
            notice.key,
            booking.resident,
            render(notice.template, **notice.context),
            association_id=booking.request.association_id,
            trip_at=booking.match.pickup_at,
        )
    return enqueue(
        session,
        notice.key,
        notice.to_phone,
        render(notice.template, **notice.context),
        association_id=booking.request.association_id,
        resident_id=notice.resident_id,
    )


def _queue(session: Session, booking: Booking, notice: Notice, now: datetime, report: NoticeReport) -> None:
    row = enqueue_planned(session, booking, notice)
    if row is None:
        return  # STOP: nothing leaves; recorded as skipped once the window closes
    if notice.kind == "feedback" and booking.match.feedback_asked_at is None:
        booking.match.feedback_asked_at = now
    report.queued[notice.kind] = report.queued.get(notice.kind, 0) + 1


def _skip(session: Session, booking: Booking, notice: Notice, report: NoticeReport) -> None:
    """Too late: a cancelled row under the key (never reconsidered) and an audit event, once."""
    why = "stop" if is_opted_out(session, notice.to_phone) else "trop tard"
    row = OutboundMessage(
        idempotency_key=notice.key,
        association_id=booking.request.association_id,
        resident_id=notice.resident_id,
        to_phone=notice.to_phone,
        body=None,
        status=OutboundStatus.CANCELLED,
        attempts=0,
        error_code="skipped",
        error_message=f"non envoyé ({why}) : à envoyer entre {_paris(notice.due_at)} "
        f"et {_paris(notice.useful_until)} (heure de Paris)",
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return  # recorded by someone else meanwhile
    action = "reminder.skipped" if notice.is_reminder else "notice.skipped"
    audit.record(
        session,
        "system",
        action,
        subject=booking.match,
        association_id=booking.request.association_id,
        kind=notice.kind,
        key=notice.key,
        why=why,
    )
    report.skipped.append((booking.match.id, notice.kind, why))


def _paris(moment: datetime) -> str:
    return f"{moment.astimezone(PARIS):%d/%m %H:%M}"
