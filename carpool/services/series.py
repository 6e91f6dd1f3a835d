"""Recurring appointments: create, pause, resume and end a resident's series, and turn it into requests.

A series becomes ordinary requests a few weeks ahead (``materialise``, run daily
by the ``series`` job), so the matcher, the SMS flow and every page treat each
occurrence like a request asked that day. One request per (series, day) is held
by a unique index: the insert is ``ON CONFLICT DO NOTHING``, so a run twice, two
schedulers at once, or a day the resident cancelled never make a second trip.

The same job keeps drivers' weekly offer series twelve weeks ahead (``extend_offers``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import PARIS, Clock
from carpool.db import dialect_of, insert_or_ignore, lon_lat, point
from carpool.errors import InvalidInput
from carpool.models import (
    AppointmentSeries,
    Association,
    Driver,
    Offer,
    OfferStatus,
    Request,
    RequestSource,
    RequestStatus,
    Resident,
    SeriesState,
    VettingStatus,
)
from carpool.services import audit, long_trips
from carpool.services.sms_inbound import home_by, request_window

SYSTEM = "system"
#: How far ahead drivers' weekly offer series are kept (what the offer form allows at once).
OFFER_WEEKS_AHEAD = 12
#: A weekly offer series this long was repeated as far as the offer form allows: the driver
#: meant it to go on (the form stops at twelve weeks from the first day).
OPEN_ENDED_SPAN = timedelta(weeks=OFFER_WEEKS_AHEAD - 1)
#: Why an occurrence was cancelled by a pause: a resume reopens exactly those.
PAUSED_REASON = "series_paused"
WEEKDAY_NAMES = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


@dataclass(frozen=True)
class SeriesInput:
    """Which days and times; the places, purpose and passengers come from the first request."""

    weekdays: tuple[int, ...]
    arrive_by: time
    first_day: date
    depart_after: time | None = None
    return_at: time | None = None
    every_weeks: int = 1
    until: date | None = None


def check(plan: SeriesInput) -> None:
    """InvalidInput with every problem at once (French, on the form's fields)."""
    errors: dict[str, str] = {}
    if not plan.weekdays:
        errors["weekdays"] = "Choisissez au moins un jour de la semaine."
    elif not all(0 <= day <= 6 for day in plan.weekdays):
        errors["weekdays"] = "Choisissez des jours de la semaine."
    if plan.every_weeks not in (1, 2):
        errors["every_weeks"] = "Choisissez toutes les semaines ou une semaine sur deux."
    if plan.until is not None and plan.until < plan.first_day:
        errors["until"] = "La date de fin doit être après le premier rendez-vous."
    if plan.return_at is not None and plan.return_at <= plan.arrive_by:
        errors["return_at"] = "Le retour doit être après le rendez-vous."
    if errors:
        raise InvalidInput(errors)


def create(session: Session, first: Request, plan: SeriesInput, *, actor: str) -> AppointmentSeries:
    """A series with ``first``'s places, purpose and passengers; ``first`` becomes its occurrence
    when it falls on a day of the series. Raises InvalidInput before writing anything."""
    check(plan)
    pickup, dropoff = lon_lat(first.pickup_point), lon_lat(first.dropoff_point)
    series = AppointmentSeries(
        association_id=first.association_id,
        resident_id=first.resident_id,
        pickup_commune_insee=first.pickup_commune_insee,
        pickup_lon=pickup[0],
        pickup_lat=pickup[1],
        dropoff_commune_insee=first.dropoff_commune_insee,
        dropoff_lon=dropoff[0],
        dropoff_lat=dropoff[1],
        dropoff_place_id=first.dropoff_place_id,
        weekdays=",".join(str(day) for day in sorted(set(plan.weekdays))),
        arrive_by=plan.arrive_by,
        depart_after=plan.depart_after,
        return_at=plan.return_at,
        every_weeks=plan.every_weeks,
        first_day=plan.first_day,
        until=plan.until,
        purpose=first.purpose,
        passengers=first.passengers,
        state=SeriesState.ACTIVE,
        created_by=actor[:80],
    )
    session.add(series)
    session.flush()
    if plan.first_day in set(days_of(series, plan.first_day, plan.first_day)):
        first.series_id, first.series_day = series.id, plan.first_day
    audit.record(
        session, actor, "series.created", subject=series, association_id=series.association_id,
        weekdays=series.weekdays, every_weeks=series.every_weeks,
    )  # fmt: skip
    return series


def pause(session: Session, series: AppointmentSeries, until: date | None, *, actor: str, today: date) -> int:
    """No trips up to ``until`` included (None: until resumed); open occurrences then are cancelled.

    Returns how many were cancelled. Trips already matched stay: a coordinator tells the driver.
    """
    if series.state is SeriesState.ENDED:
        raise InvalidInput.on("", "Cette série est terminée.")
    if until is not None and until < today:
        raise InvalidInput.on("paused_until", "La date de reprise est passée.")
    series.state, series.paused_until = SeriesState.PAUSED, until
    cancelled = _cancel_open(session, series, today, until, PAUSED_REASON)
    audit.record(
        session, actor, "series.paused", subject=series, association_id=series.association_id,
        until=until.isoformat() if until else None, cancelled=cancelled,
    )  # fmt: skip
    return cancelled


def resume(session: Session, series: AppointmentSeries, *, actor: str, today: date) -> int:
    """Active again; the coming occurrences the pause cancelled are open again. Returns how many."""
    if series.state is not SeriesState.PAUSED:
        raise InvalidInput.on("", "Cette série n'est pas en pause.")
    series.state, series.paused_until = SeriesState.ACTIVE, None
    reopened = session.execute(
        sa.update(Request)
        .where(
            Request.series_id == series.id,
            Request.series_day > today,
            Request.status == RequestStatus.CANCELLED,
            Request.unmatched_reason == PAUSED_REASON,
        )
        .values(status=RequestStatus.OPEN, unmatched_reason=None)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    audit.record(
        session, actor, "series.resumed", subject=series, association_id=series.association_id,
        reopened=reopened,
    )  # fmt: skip
    return int(reopened or 0)


def end(session: Session, series: AppointmentSeries, *, actor: str, now: datetime) -> int:
    """No more trips: the coming open occurrences are cancelled (matched ones stay). Returns how many."""
    if series.state is SeriesState.ENDED:
        return 0
    today = now.astimezone(PARIS).date()
    series.state, series.paused_until, series.ended_at = SeriesState.ENDED, None, now
    cancelled = _cancel_open(session, series, today, None, "series_ended")
    audit.record(
        session, actor, "series.ended", subject=series, association_id=series.association_id,
        cancelled=cancelled,
    )  # fmt: skip
    return cancelled


def _cancel_open(
    session: Session, series: AppointmentSeries, today: date, until: date | None, reason: str
) -> int:
    """Cancel the series' open requests after today (and up to ``until`` if given)."""
    where = [
        Request.series_id == series.id,
        Request.series_day > today,
        Request.status == RequestStatus.OPEN,
    ]
    if until is not None:
        where.append(Request.series_day <= until)
    result = session.execute(
        sa.update(Request)
        .where(*where)
        .values(status=RequestStatus.CANCELLED, unmatched_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- materialising ---------------------------------------------------------------------


def days_of(series: AppointmentSeries, start: date, stop: date) -> Iterator[date]:
    """The series' days from ``start`` to ``stop`` included, within its first day and end.

    Every other week counts weeks from the Monday of the first day's week.
    """
    monday = series.first_day - timedelta(days=series.first_day.weekday())
    weekdays = set(series.days)
    day = max(start, series.first_day)
    last = min(stop, series.until) if series.until else stop
    while day <= last:
        if day.weekday() in weekdays and ((day - monday).days // 7) % series.every_weeks == 0:
            yield day
        day += timedelta(days=1)


def materialise(session: Session, clock: Clock, weeks: int = 4) -> list[int]:
    """Requests for every live series' days from today to ``weeks`` ahead; the ids of those added.

    Skips paused days, days whose appointment has passed and residents erased meanwhile;
    a pause whose date has passed ends here (the series is active again).
    """
    now = clock.now()
    today = now.astimezone(PARIS).date()
    horizon = today + timedelta(weeks=weeks)
    live = session.scalars(
        sa.select(AppointmentSeries)
        .join(Resident, Resident.id == AppointmentSeries.resident_id)
        .where(AppointmentSeries.state != SeriesState.ENDED, Resident.erased_at.is_(None))
        .order_by(AppointmentSeries.id)
    ).all()
    added: list[int] = []
    for series in live:
        if (
            series.state is SeriesState.PAUSED
            and series.paused_until is not None
            and series.paused_until < today
        ):
            series.state, series.paused_until = SeriesState.ACTIVE, None
        for day in days_of(series, today, horizon):
            if _paused_on(series, day):
                continue
            request_id = _add_occurrence(session, series, day, now)
            if request_id is not None:
                added.append(request_id)
                audit.record(
                    session, SYSTEM, "request.created", subject=session.get(Request, request_id),
                    association_id=series.association_id, source="series", series_id=series.id,
                )  # fmt: skip
    return added


def _paused_on(series: AppointmentSeries, day: date) -> bool:
    if series.state is not SeriesState.PAUSED:
        return False
    return series.paused_until is None or day <= series.paused_until


def _add_occurrence(session: Session, series: AppointmentSeries, day: date, now: datetime) -> int | None:
    """Insert the day's request unless it exists (or its appointment passed); its id if added."""
    earliest, latest = request_window(
        day,
        series.arrive_by.strftime("%H:%M"),
        series.depart_after.strftime("%H:%M") if series.depart_after else None,
    )
    if latest <= now:
        return None
    return_at = datetime.combine(day, series.return_at, tzinfo=PARIS) if series.return_at else None
    statement = insert_or_ignore(dialect_of(session), Request, ["series_id", "series_day"]).values(
        association_id=series.association_id,
        resident_id=series.resident_id,
        pickup_commune_insee=series.pickup_commune_insee,
        pickup_point=point(series.pickup_lon, series.pickup_lat),
        dropoff_commune_insee=series.dropoff_commune_insee,
        dropoff_point=point(series.dropoff_lon, series.dropoff_lat),
        dropoff_place_id=series.dropoff_place_id,
        earliest=earliest,
        latest=latest,
        return_at=return_at,
        return_latest=home_by(session.get_one(Association, series.association_id), return_at),
        passengers=series.passengers,
        purpose=series.purpose,
        source=RequestSource.SMS if series.created_by.startswith("resident") else RequestSource.PHONE,
        status=RequestStatus.OPEN,
        note="",
        one_way=False,
        series_id=series.id,
        series_day=day,
        created_at=now,
        # Longer than 100 km: each day waits for a coordinator's reason, as a request by SMS does.
        route_km=long_trips.km_between(
            (series.pickup_lon, series.pickup_lat), (series.dropoff_lon, series.dropoff_lat)
        ),
    )
    return session.scalar(statement.returning(Request.id))


# --- drivers' weekly offers ------------------------------------------------------------------


def extend_offers(session: Session, clock: Clock, weeks: int = OFFER_WEEKS_AHEAD) -> list[int]:
    """Drivers' open-ended weekly series kept ``weeks`` ahead: their last week's offers, repeated.

    Open-ended: the driver repeated the trip as far as the offer form allows (twelve weeks);
    a series they ended sooner ("jusqu'au 20 décembre") is left as they said. A series stops
    when its last week holds no open offer (the driver cancelled it) or the driver is paused.
    Each copy lands after the series' last offer, so a second run adds nothing. Returns the ids added.
    """
    now = clock.now()
    horizon = now + timedelta(weeks=weeks)
    spans = (
        sa.select(
            Offer.series_id,
            sa.func.min(Offer.depart_earliest).label("first"),
            sa.func.max(Offer.depart_earliest).label("last"),
        )
        .where(Offer.series_id.is_not(None))
        .group_by(Offer.series_id)
        .subquery()
    )
    rows: list[tuple[str, datetime, datetime]] = session.execute(  # type: ignore[assignment]
        sa.select(spans.c.series_id, spans.c.first, spans.c.last)
        .where(spans.c.last > now, spans.c.last < horizon - timedelta(weeks=1))
        .order_by(spans.c.series_id)
    ).all()
    added: list[int] = []
    for series_id, first, last in rows:
        if last - first >= OPEN_ENDED_SPAN:
            added += _extend_one(session, series_id, last, horizon)
    return added


def _extend_one(session: Session, series_id: str, last: datetime, horizon: datetime) -> list[int]:
    week = session.scalars(
        sa.select(Offer)
        .where(
            Offer.series_id == series_id,
            Offer.depart_earliest > last - timedelta(weeks=1),
            Offer.status == OfferStatus.OPEN,
        )
        .order_by(Offer.depart_earliest, Offer.id)
    ).all()
    if not week:
        return []
    driver = session.get_one(Driver, week[0].driver_id)
    if driver.vetting is VettingStatus.PAUSED:
        return []
    added: list[int] = []
    shift = timedelta(weeks=1)
    while week and last + shift < horizon:
        copies: dict[int, Offer] = {}
        for offer in week:
            copy = _copy(offer, shift)
            session.add(copy)
            copies[offer.id] = copy
        session.flush()
        for offer in week:  # a way back points to its own week's outward offer
            if offer.return_of_id in copies:
                copies[offer.id].return_of_id = copies[offer.return_of_id].id
        for copy in copies.values():
            audit.record(
                session, SYSTEM, "offer.created", subject=copy, association_id=driver.association_id,
                series_id=series_id,
            )  # fmt: skip
            added.append(copy.id)
        shift += timedelta(weeks=1)
    return added


def _copy(offer: Offer, shift: timedelta) -> Offer:
    """The same trip ``shift`` later (same Paris wall time across a change of hour)."""
    return Offer(
        driver_id=offer.driver_id,
        origin_commune_insee=offer.origin_commune_insee,
        origin_point=offer.origin_point,
        origin_place_id=offer.origin_place_id,
        destination_commune_insee=offer.destination_commune_insee,
        destination_point=offer.destination_point,
        destination_place_id=offer.destination_place_id,
        depart_earliest=_later(offer.depart_earliest, shift),
        depart_latest=_later(offer.depart_latest, shift),
        seats_total=offer.seats_total,
        seats_left=offer.seats_total,
        max_detour_min=offer.max_detour_min,
        comment=offer.comment,
        series_id=offer.series_id,
        status=OfferStatus.OPEN,
    )


def _later(moment: datetime, shift: timedelta) -> datetime:
    return moment.astimezone(PARIS) + shift  # aware arithmetic keeps the wall time


# --- words -------------------------------------------------------------------------------------


def describe(series: AppointmentSeries) -> str:
    """The series in words ("tous les mardis à 10h, jusqu'au 2/02"): the SMS reply, the resident page."""
    names = [WEEKDAY_NAMES[day] for day in series.days]
    if series.every_weeks == 2 and len(names) == 1:
        text = f"un {names[0]} sur deux"
    else:
        plural = [name + "s" for name in names]
        listed = plural[0] if len(plural) == 1 else ", ".join(plural[:-1]) + " et " + plural[-1]
        text = f"tous les {listed}" if series.every_weeks == 1 else f"les {listed}, une semaine sur deux"
    text += f" à {_hour(series.arrive_by)}"
    if series.return_at:
        text += f", retour {_hour(series.return_at)}"
    if series.until:
        text += f", jusqu'au {series.until.day}/{series.until.month:02d}"
    return text


def _hour(moment: time) -> str:
    return f"{moment.hour}h{moment.minute:02d}" if moment.minute else f"{moment.hour}h"


def of_resident(session: Session, resident_id: int) -> list[AppointmentSeries]:
    """The resident's series, live ones first, the newest first."""
    ended = sa.case((AppointmentSeries.state == SeriesState.ENDED, 1), else_=0)
    return list(
        session.scalars(
            sa.select(AppointmentSeries)
            .where(AppointmentSeries.resident_id == resident_id)
            .order_by(ended, AppointmentSeries.id.desc())
        )
    )


def export_rows(session: Session, resident_id: int) -> list[dict[str, object]]:
    """The resident's series as their data export shows them (GDPR access)."""
    return [
        {
            "id": s.id,
            "described": describe(s),
            "weekdays": list(s.days),
            "every_weeks": s.every_weeks,
            "first_day": s.first_day.isoformat(),
            "until": s.until.isoformat() if s.until else None,
            "arrive_by": s.arrive_by.strftime("%H:%M"),
            "return_at": s.return_at.strftime("%H:%M") if s.return_at else None,
            "pickup_commune": s.pickup_commune_insee,
            "dropoff_commune": s.dropoff_commune_insee,
            "purpose": s.purpose.value,
            "state": s.state.value,
            "paused_until": s.paused_until.isoformat() if s.paused_until else None,
            "created_at": s.created_at.isoformat(),
        }
        for s in of_resident(session, resident_id)
    ]


def end_all(session: Session, resident_id: int, *, actor: str, now: datetime) -> None:
    """Every series of the resident ends (their data is erased: nothing more is asked for them)."""
    for series in of_resident(session, resident_id):
        end(session, series, actor=actor, now=now)
