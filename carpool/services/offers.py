"""Ride offers ("Je propose un trajet") and the passengers proposed on a driver's trips.

Every function takes the acting driver and only ever reads or writes that
driver's own offers and matches: another driver's id behaves as if it did not
exist (``NotFound``), so nothing about it leaks. Seats move only through
guarded UPDATEs (see ``bookings``); matches only through ``bookings.transition``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased, load_only

from carpool.clock import PARIS, Clock
from carpool.errors import InvalidInput
from carpool.labels import NEEDS
from carpool.models import (
    OFFER_FLEX_MIN,
    OFFER_MAX_DETOUR_MIN,
    OFFER_SEATS,
    SEAT_HOLDING,
    Association,
    AuditEvent,
    Commune,
    Driver,
    Leg,
    Match,
    MatchStatus,
    NamedPlace,
    Offer,
    OfferStatus,
    Request,
    Resident,
    VettingStatus,
)
from carpool.notify.compose import render
from carpool.notify.outbox import enqueue, enqueue_notice
from carpool.services import audit, bookings, reminders
from carpool.services.places import Place, commune_label, resolve_place
from carpool.text import french_number

MAX_FLEX_MIN = 120
MAX_DETOUR_MIN = 60
MAX_REPEAT = timedelta(weeks=12)
MAX_AHEAD = timedelta(days=365)
ACTIVE = tuple(SEAT_HOLDING)
#: Open offers still to come that a driver may have at once. A pending driver is never assigned,
#: so a handful lets them try the service without loading the matcher; a vetted one can still
#: offer twelve weeks of daily return trips (12 × 7 × 2 = 168).
MAX_UPCOMING_OFFERS_PENDING = 5
MAX_UPCOMING_OFFERS = 200


class NotFound(LookupError):
    """No such offer or passenger for this driver (someone else's looks exactly the same)."""


@dataclass(frozen=True)
class OfferInput:
    """What the driver fills in; validated by ``check`` against the clock and the gazetteer."""

    origin: str
    destination: str
    day: date | None
    depart: time | None
    flex_min: int = OFFER_FLEX_MIN
    seats: int = OFFER_SEATS
    max_detour_min: int = OFFER_MAX_DETOUR_MIN
    comment: str = ""
    return_time: time | None = None
    repeat_days: frozenset[int] = field(default_factory=frozenset)
    repeat_until: date | None = None


@dataclass(frozen=True)
class _Checked:
    origin: Place
    destination: Place
    days: list[date]
    depart: time
    return_time: time | None


def _departure(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=PARIS)


def check(
    session: Session, driver: Driver, form: OfferInput, clock: Clock, *, editing: bool = False
) -> _Checked:
    """Every problem of the form at once, as InvalidInput; nothing is written."""
    errors: dict[str, str] = {}
    places = _check_places(session, driver, form, errors)
    _check_departure(form, clock.now(), errors)
    _check_amounts(driver, form, errors)
    days = [form.day] if form.day else []
    if not editing and (form.repeat_days or form.repeat_until):
        days = _occurrences(form, errors)
    if errors:
        raise InvalidInput(errors)
    assert form.depart is not None
    return _Checked(places["origin"], places["destination"], days, form.depart, form.return_time)


def _check_places(
    session: Session, driver: Driver, form: OfferInput, errors: dict[str, str]
) -> dict[str, Place]:
    """The origin and destination found (a named place or a commune), and not the same."""
    places: dict[str, Place] = {}
    for name in ("origin", "destination"):
        try:
            places[name] = resolve_place(session, getattr(form, name), driver.association_id, name)
        except InvalidInput as exc:
            errors.update(exc.errors)
    if len(places) == 2 and places["origin"] == places["destination"]:
        errors["destination"] = "Le départ et l'arrivée sont au même endroit."
    return places


def _check_departure(form: OfferInput, now: datetime, errors: dict[str, str]) -> None:
    """A day and a time, in the coming twelve months."""
    if form.day is None:
        errors["day"] = "Indiquez la date du trajet."
    if form.depart is None:
        errors["depart"] = "Indiquez l'heure de départ."
    if form.day and form.depart:
        leaving = _departure(form.day, form.depart)
        if leaving <= now:
            errors["day"] = "Cette date et cette heure sont déjà passées."
        elif leaving - now > MAX_AHEAD:
            errors["day"] = "Proposez un trajet dans les douze prochains mois."


def _check_amounts(driver: Driver, form: OfferInput, errors: dict[str, str]) -> None:
    """Flexibility, seats (within the car's), detour, comment and return time within their bounds."""
    if not 0 <= form.flex_min <= MAX_FLEX_MIN:
        errors["flex_min"] = f"La souplesse doit être entre 0 et {MAX_FLEX_MIN} minutes."
    if not 1 <= form.seats <= 8:
        errors["seats"] = "Le nombre de places libres doit être entre 1 et 8."
    elif form.seats > driver.seats:
        errors["seats"] = f"Votre véhicule a {driver.seats} places passagers (modifiable dans Mon compte)."
    if not 0 <= form.max_detour_min <= MAX_DETOUR_MIN:
        errors["max_detour_min"] = f"Le détour accepté doit être entre 0 et {MAX_DETOUR_MIN} minutes."
    if len(form.comment) > 500:
        errors["comment"] = "Le commentaire doit faire au plus 500 caractères."
    if form.return_time is not None and form.depart is not None and form.return_time <= form.depart:
        errors["return_time"] = "L'heure du retour doit être après l'heure de départ."


def _occurrences(form: OfferInput, errors: dict[str, str]) -> list[date]:
    if not form.repeat_days:
        errors["repeat_days"] = "Choisissez au moins un jour de la semaine pour répéter le trajet."
    if not all(0 <= d <= 6 for d in form.repeat_days):
        errors["repeat_days"] = "Choisissez des jours de la semaine."
    if form.repeat_until is None:
        errors["repeat_until"] = "Indiquez jusqu'à quelle date répéter le trajet."
    if form.day is None or form.repeat_until is None or errors.keys() & {"repeat_days", "repeat_until"}:
        return [form.day] if form.day else []
    if form.repeat_until <= form.day:
        errors["repeat_until"] = "La date de fin doit être après la date du premier trajet."
    elif form.repeat_until - form.day > MAX_REPEAT:
        errors["repeat_until"] = "Répétez un trajet sur douze semaines au plus."
    if "repeat_until" in errors:
        return [form.day]  # not the days up to a far-off end: 9999-12-31 overflowed
    days, day = [form.day], form.day + timedelta(days=1)
    while day <= form.repeat_until:
        if day.weekday() in form.repeat_days:
            days.append(day)
        day += timedelta(days=1)
    return days


def _new_offer(
    driver: Driver, origin: Place, destination: Place, leaving: datetime, form: OfferInput, series: str | None
) -> Offer:
    flex = timedelta(minutes=form.flex_min)
    return Offer(
        driver_id=driver.id,
        origin_commune_insee=origin.commune.insee,
        origin_point=origin.point,
        origin_place_id=origin.named.id if origin.named else None,
        destination_commune_insee=destination.commune.insee,
        destination_point=destination.point,
        destination_place_id=destination.named.id if destination.named else None,
        depart_earliest=leaving - flex,
        depart_latest=leaving + flex,
        seats_total=form.seats,
        seats_left=form.seats,
        max_detour_min=form.max_detour_min,
        comment=form.comment.strip(),
        series_id=series,
        status=OfferStatus.OPEN,
    )


def create_offers(session: Session, driver: Driver, form: OfferInput, clock: Clock) -> list[Offer]:
    """One offer per occurrence (weekly repeat), each followed by its return if asked; all or nothing."""
    checked = check(session, driver, form, clock)
    _check_upcoming_cap(session, driver, len(checked.days) * (2 if checked.return_time else 1), clock.now())
    series = uuid.uuid4().hex if len(checked.days) > 1 else None
    created = []
    for day in checked.days:
        outward = _new_offer(
            driver, checked.origin, checked.destination, _departure(day, checked.depart), form, series
        )
        session.add(outward)
        session.flush()
        created.append(outward)
        if checked.return_time is not None:
            back = _new_offer(
                driver,
                checked.destination,
                checked.origin,
                _departure(day, checked.return_time),
                form,
                series,
            )
            back.return_of_id = outward.id
            session.add(back)
            session.flush()
            created.append(back)
    for offer in created:
        audit.record(
            session,
            f"driver:{driver.id}",
            "offer.created",
            subject=offer,
            association_id=driver.association_id,
        )
    return created


def _check_upcoming_cap(session: Session, driver: Driver, adding: int, now: datetime) -> None:
    """InvalidInput when ``adding`` more offers would pass the driver's cap of upcoming offers."""
    pending = driver.vetting is VettingStatus.PENDING
    cap = MAX_UPCOMING_OFFERS_PENDING if pending else MAX_UPCOMING_OFFERS
    upcoming = int(
        session.scalar(
            sa.select(sa.func.count()).where(
                Offer.driver_id == driver.id, Offer.status == OfferStatus.OPEN, Offer.depart_latest >= now
            )
        )
        or 0
    )
    if upcoming + adding <= cap:
        return
    if pending:
        message = (
            f"Tant qu'un coordinateur n'a pas validé votre inscription, vous pouvez proposer "
            f"{cap} trajets à venir au plus (vous en avez déjà {upcoming})."
        )
    else:
        message = f"Vous pouvez proposer {cap} trajets à venir au plus (vous en avez déjà {upcoming})."
    raise InvalidInput.on("", message + " Proposez-en moins, ou annulez-en d'autres.")


def own_offer(session: Session, driver: Driver, offer_id: int, *, lock: bool = False) -> Offer:
    """The driver's offer; ``lock`` holds its row (see ``bookings.lock_offer``) and reads it afresh."""
    query = sa.select(Offer).where(Offer.id == offer_id, Offer.driver_id == driver.id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    offer = session.scalar(query)
    if offer is None:
        raise NotFound(offer_id)
    return offer


def active_matches(session: Session, offer: Offer, *, lock: bool = False) -> list[Match]:
    """The offer's passengers under way; ``lock`` holds their rows and reads them afresh.

    Afresh matters: the page may have loaded these matches earlier in the same
    session, and a stale status would make the guarded transition refuse.
    """
    query = (
        sa.select(Match).where(Match.offer_id == offer.id, Match.status.in_(ACTIVE)).order_by(Match.pickup_at)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return list(session.scalars(query))


def form_of(session: Session, offer: Offer) -> OfferInput:
    """The offer as the edit form shows it."""
    flex = (offer.depart_latest - offer.depart_earliest) / 2
    leaving = (offer.depart_earliest + flex).astimezone(PARIS)
    return OfferInput(
        origin=place_label(session, offer.origin_commune_insee, offer.origin_place_id),
        destination=place_label(session, offer.destination_commune_insee, offer.destination_place_id),
        day=leaving.date(),
        depart=leaving.time().replace(second=0, microsecond=0),
        flex_min=int(flex.total_seconds() // 60),
        seats=offer.seats_total,
        max_detour_min=offer.max_detour_min,
        comment=offer.comment,
    )


def update_offer(session: Session, driver: Driver, offer_id: int, form: OfferInput, clock: Clock) -> Offer:
    """Change an open, future offer. With passengers on board only seats, detour and comment may change."""
    offer = own_offer(session, driver, offer_id)
    if offer.status is not OfferStatus.OPEN or offer.depart_latest <= clock.now():
        raise InvalidInput.on("", "Ce trajet est passé ou annulé : il ne peut plus être modifié.")
    checked = check(session, driver, form, clock, editing=True)
    before = form_of(session, offer)
    moved = (before.origin, before.destination, before.day, before.depart, before.flex_min) != (
        checked.origin.label,
        checked.destination.label,
        form.day,
        form.depart,
        form.flex_min,
    )
    if moved and active_matches(session, offer):
        raise InvalidInput.on(
            "",
            "Des passagers sont prévus sur ce trajet : vous pouvez changer les places, le détour et le "
            "commentaire, mais pas le lieu ni l'heure. Annulez le trajet si vous ne pouvez plus le faire.",
        )
    _set_seats(session, offer, form.seats, clock)
    fresh = _new_offer(
        driver, checked.origin, checked.destination, _departure(checked.days[0], checked.depart), form, None
    )
    for column in (
        "origin_commune_insee",
        "origin_point",
        "origin_place_id",
        "destination_commune_insee",
        "destination_point",
        "destination_place_id",
        "depart_earliest",
        "depart_latest",
        "max_detour_min",
        "comment",
    ):
        if moved or column in ("max_detour_min", "comment"):
            setattr(offer, column, getattr(fresh, column))
    offer.updated_at = clock.now()
    session.flush()
    audit.record(
        session, f"driver:{driver.id}", "offer.updated", subject=offer, association_id=driver.association_id
    )
    return offer


def _set_seats(session: Session, offer: Offer, seats: int, clock: Clock) -> None:
    """Change the seat count without ever going below the seats already promised (guarded UPDATE)."""
    result = session.execute(
        sa.update(Offer)
        .where(
            Offer.id == offer.id,
            Offer.status == OfferStatus.OPEN,
            Offer.seats_total - Offer.seats_left <= seats,
        )
        .values(
            seats_left=Offer.seats_left + (seats - Offer.seats_total),
            seats_total=seats,
            updated_at=clock.now(),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidInput.on("seats", "Des passagers occupent déjà plus de places que ce nombre.")
    session.refresh(offer, ["seats_total", "seats_left"])


def cancel_offer(session: Session, driver: Driver, offer_id: int, reason: str, clock: Clock) -> list[Match]:
    """Cancel an offer: its passengers' matches are cancelled, each passenger and the coordinator told.

    A reason is required when passengers were proposed or confirmed. The offer's
    row is locked first, as every match transition does (``bookings.lock_offer``):
    a passenger accepted or declined at the same moment either lands before (and
    is cancelled here) or waits and finds the match cancelled. The matches are
    then read afresh and locked, so none changes between this read and its
    cancellation (a stale read made the cancel fail on PostgreSQL, see tests).
    """
    offer = own_offer(session, driver, offer_id, lock=True)
    reason = reason.strip()
    if offer.status is not OfferStatus.OPEN:
        raise InvalidInput.on("", "Ce trajet est déjà annulé ou terminé.")
    if active_matches(session, offer, lock=True) and not reason:
        raise InvalidInput.on("reason", "Des passagers sont prévus : indiquez-leur pourquoi vous annulez.")
    if len(reason) > 300:
        raise InvalidInput.on("reason", "Le motif doit faire au plus 300 caractères.")
    closed = session.execute(
        sa.update(Offer)
        .where(Offer.id == offer.id, Offer.status == OfferStatus.OPEN)
        .values(status=OfferStatus.CANCELLED, cancel_reason=reason or None, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if closed.rowcount != 1:  # type: ignore[attr-defined]
        raise InvalidInput.on("", "Ce trajet est déjà annulé ou terminé.")
    actor = f"driver:{driver.id}"
    cancelled = []
    for match in active_matches(session, offer, lock=True):
        bookings.transition(session, match, MatchStatus.CANCELLED, actor=actor, clock=clock, reason=reason)
        cancelled.append(match)
        if reminders.told_out_only(session, match):
            continue  # the resident's one text about this way back names the driver already
        _tell_passenger(
            session,
            driver,
            _resident_of(session, match),
            f"offer:{offer.id}:cancelled:match:{match.id}",
            render(
                "offer_cancelled", driver=driver.first_name, pickup_at=match.pickup_at, leg=match.leg.value
            ),
            match.pickup_at,
        )
    session.refresh(offer)
    audit.record(
        session,
        actor,
        "offer.cancelled",
        subject=offer,
        association_id=driver.association_id,
        reason=reason,
        matches=[m.id for m in cancelled],
    )
    if cancelled:
        _tell_coordinator(session, driver, offer, cancelled, reason)
    return cancelled


def _tell_coordinator(
    session: Session, driver: Driver, offer: Offer, cancelled: list[Match], reason: str
) -> None:
    """The association's phone gets an SMS (the audit event is what the dashboard shows)."""
    association = session.get_one(Association, driver.association_id)
    phone = french_number(association.phone or "") or ""
    if not phone:
        return
    enqueue(
        session,
        f"offer:{offer.id}:cancelled:coordinator",
        phone,
        render(
            "coordinator_offer_cancelled",
            driver=f"{driver.first_name} {driver.last_name}",
            day=offer.depart_earliest,
            count=len(cancelled),
            reason=reason,
        ),
        association_id=association.id,
        respect_opt_out=False,
    )


def _resident_of(session: Session, match: Match) -> Resident:
    request = session.get_one(Request, match.request_id)
    return session.get_one(Resident, request.resident_id)


def _tell_passenger(
    session: Session, driver: Driver, resident: Resident, key: str, text: str, trip_at: datetime
) -> None:
    """Queue an SMS or a call (their channel) about ``driver``'s trip to one passenger, after the commit."""
    enqueue_notice(session, key, resident, text, association_id=driver.association_id, trip_at=trip_at)


# --- what the driver sees ------------------------------------------------------------------


def place_label(session: Session, insee: str, place_id: int | None) -> str:
    if place_id is not None and (place := session.get(NamedPlace, place_id)):
        return place.name
    return commune_label(session.get_one(Commune, insee))


def _label(place: str | None, commune: str, postcode: str) -> str:
    """``place_label`` from columns read in the same query (a named place, or "Cahors (46000)")."""
    return place if place is not None else f"{commune} ({postcode})"


#: (origin, destination) as the driver reads them, by offer id.
OfferLabels = dict[int, tuple[str, str]]

# Built once: aliasing a mapped class and joining it again on every call costs more than the query.
_ORIGIN, _DESTINATION = aliased(Commune, name="origin_commune"), aliased(Commune, name="destination_commune")
_ORIGIN_PLACE = aliased(NamedPlace, name="origin_place")
_DESTINATION_PLACE = aliased(NamedPlace, name="destination_place")
_LABEL_COLUMNS = (
    _ORIGIN_PLACE.name,
    _ORIGIN.name,
    _ORIGIN.postcode,
    _DESTINATION_PLACE.name,
    _DESTINATION.name,
    _DESTINATION.postcode,
)


_Query = TypeVar("_Query", bound=sa.Select)


def _join_labels(query: _Query) -> _Query:
    return (
        query.join(_ORIGIN, _ORIGIN.insee == Offer.origin_commune_insee)
        .join(_DESTINATION, _DESTINATION.insee == Offer.destination_commune_insee)
        .outerjoin(_ORIGIN_PLACE, _ORIGIN_PLACE.id == Offer.origin_place_id)
        .outerjoin(_DESTINATION_PLACE, _DESTINATION_PLACE.id == Offer.destination_place_id)
    )


def _labels_of(row: Sequence[Any]) -> tuple[str, str]:
    """The six label columns at the end of ``row`` → (origin, destination)."""
    return _label(*row[-6:-3]), _label(*row[-3:])


_OFFER_LABELS = _join_labels(sa.select(Offer.id, *_LABEL_COLUMNS)).where(
    Offer.id.in_(sa.bindparam("ids", expanding=True))
)
_UPCOMING_LABELLED = (
    _join_labels(sa.select(Offer, *_LABEL_COLUMNS))
    .where(
        Offer.driver_id == sa.bindparam("driver_id"),
        Offer.status == OfferStatus.OPEN,
        Offer.depart_latest >= sa.bindparam("now"),
    )
    .order_by(Offer.depart_earliest, Offer.id)  # id: the same order for offers leaving together
)
_OWN_LABELLED = _join_labels(sa.select(Offer, *_LABEL_COLUMNS)).where(
    Offer.id == sa.bindparam("offer_id"), Offer.driver_id == sa.bindparam("driver_id")
)


def offer_labels(session: Session, items: Iterable[Offer]) -> OfferLabels:
    """(origin, destination) of each offer as the driver reads them, in one query whatever their number."""
    ids = sorted({offer.id for offer in items})
    if not ids:
        return {}
    return {row[0]: _labels_of(row) for row in session.execute(_OFFER_LABELS, {"ids": ids})}


def upcoming_offers_labelled(
    session: Session, driver: Driver, now: datetime
) -> tuple[list[Offer], OfferLabels]:
    """``upcoming_offers`` and their ``offer_labels``, read by a single query."""
    rows = session.execute(_UPCOMING_LABELLED, {"driver_id": driver.id, "now": now}).all()
    return [row[0] for row in rows], {row[0].id: _labels_of(row) for row in rows}


def own_offer_labelled(session: Session, driver: Driver, offer_id: int) -> tuple[Offer, OfferLabels]:
    """``own_offer`` and its ``offer_labels``, read by a single query; raises NotFound."""
    row = session.execute(_OWN_LABELLED, {"offer_id": offer_id, "driver_id": driver.id}).one_or_none()
    if row is None:
        raise NotFound(offer_id)
    return row[0], {row[0].id: _labels_of(row)}


@dataclass(frozen=True)
class Passenger:
    """A proposed or booked passenger, as much as this driver may see of them."""

    match: Match
    first_name: str
    pickup_place: str
    dropoff_place: str
    needs: tuple[str, ...]
    phone: str | None  # only once the driver has accepted, and only for vetted drivers
    #: With masking on (Réglages), ``phone`` is the association's line and this the trip's reference,
    #: which the driver gives after calling it (key 1 reaches today's passenger).
    reference: str | None = None

    @property
    def status(self) -> MatchStatus:
        return self.match.status

    @property
    def leg_label(self) -> str:
        """« aller » to the appointment, « retour » home from it."""
        return "retour" if self.match.leg is Leg.BACK else "aller"


_PICKUP, _DROPOFF = aliased(Commune, name="pickup_commune"), aliased(Commune, name="dropoff_commune")
_DROPOFF_PLACE = aliased(NamedPlace, name="dropoff_place")
# One query: the places' labels come with each match (no lookup per passenger), and of the
# resident only what the driver may see.
_PASSENGERS = (
    sa.select(
        Match,
        Resident,
        _PICKUP.name,
        _PICKUP.postcode,
        _DROPOFF_PLACE.name,
        _DROPOFF.name,
        _DROPOFF.postcode,
        # Masking (Réglages) read with the passengers: no statement more per page.
        Association.number_masking,
        Association.phone,
        Association.sms_number,
    )
    .join(Request, Match.request_id == Request.id)
    .join(Resident, Request.resident_id == Resident.id)
    .join(Association, Association.id == Request.association_id)
    .join(_PICKUP, _PICKUP.insee == Request.pickup_commune_insee)
    .join(_DROPOFF, _DROPOFF.insee == Request.dropoff_commune_insee)
    .outerjoin(_DROPOFF_PLACE, _DROPOFF_PLACE.id == Request.dropoff_place_id)
    .options(
        load_only(
            Resident.first_name,
            Resident.phone,
            Resident.uses_wheelchair,
            Resident.uses_walker,
            Resident.needs_help_boarding,
        )
    )
    .order_by(Match.pickup_at, Match.id)
)


def passengers(
    session: Session,
    driver: Driver,
    *,
    statuses: tuple[MatchStatus, ...] = ACTIVE,
    since: datetime | None = None,
    until: datetime | None = None,
    match_id: int | None = None,
    offer_id: int | None = None,
) -> list[Passenger]:
    """This driver's passengers (of one offer if given); a driver not (or no longer) vetted sees none."""
    if not driver.is_vetted:
        return []
    query = _PASSENGERS.where(Match.driver_id == driver.id, Match.status.in_(statuses))
    if since is not None:
        query = query.where(Match.pickup_at >= since)
    if until is not None:
        query = query.where(Match.pickup_at < until)
    if match_id is not None:
        query = query.where(Match.id == match_id)
    if offer_id is not None:
        query = query.where(Match.offer_id == offer_id)
    shown = []
    for row in session.execute(query).all():
        match, resident, places = row[0], row[1], row[2:7]
        line = _masking_line(row.number_masking, row.phone, row.sms_number)
        booked = match.status in (MatchStatus.ACCEPTED, MatchStatus.CONFIRMED, MatchStatus.COMPLETED)
        phone = (line or resident.phone) if booked else None
        home, appointment = _label(None, *places[0:2]), _label(*places[2:5])
        back = match.leg is Leg.BACK  # the way home starts where the appointment was
        shown.append(
            Passenger(
                match=match,
                first_name=resident.first_name,
                pickup_place=appointment if back else home,
                dropoff_place=home if back else appointment,
                needs=tuple(NEEDS[n] for n in sorted(resident.needs)),
                phone=phone,
                reference=f"T{match.id}" if line and booked else None,
            )
        )
    return shown


def _masking_line(masking: bool, phone: str | None, sms_number: str | None) -> str | None:
    """The association's number (E.164) when it masks passengers' numbers from drivers, else None."""
    if not masking:
        return None
    return french_number(phone or "") or french_number(sms_number or "")


def own_match(session: Session, driver: Driver, match_id: int) -> Match:
    match = session.scalar(sa.select(Match).where(Match.id == match_id, Match.driver_id == driver.id))
    if match is None or not driver.is_vetted:
        raise NotFound(match_id)
    return match


def upcoming_offers(session: Session, driver: Driver, now: datetime) -> list[Offer]:
    return list(
        session.scalars(
            sa.select(Offer)
            .where(Offer.driver_id == driver.id, Offer.status == OfferStatus.OPEN, Offer.depart_latest >= now)
            .order_by(Offer.depart_earliest, Offer.id)
        )
    )


def past_offers(session: Session, driver: Driver, now: datetime, limit: int = 100) -> list[Offer]:
    return list(
        session.scalars(
            sa.select(Offer)
            .where(
                Offer.driver_id == driver.id,
                sa.or_(Offer.status != OfferStatus.OPEN, Offer.depart_latest < now),
            )
            .order_by(Offer.depart_earliest.desc())
            .limit(limit)
        )
    )


# --- accepting and declining ---------------------------------------------------------------


def _chosen_by_resident(session: Session, match: Match) -> bool:
    """True when the resident picked this option (by SMS, or on the phone with a coordinator)."""
    event = session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.action == "match.proposed",
            AuditEvent.subject_type == "Match",
            AuditEvent.subject_id == match.id,
        )
    )
    if event is None:
        return False
    return bool(event.actor.startswith("resident:") or (event.details or {}).get("for_resident"))


class OfferCancelled(bookings.BookingError):
    def __init__(self) -> None:
        super().__init__(
            "Ce trajet vient d'être annulé : le passager est prévenu, il n'y a rien d'autre à faire."
        )


def _answer(session: Session, driver: Driver, match: Match, to: MatchStatus, clock: Clock) -> None:
    """The driver's transition; a click that lost to the offer's cancellation is told so plainly."""
    try:
        bookings.transition(session, match, to, actor=f"driver:{driver.id}", clock=clock)
    except bookings.TransitionRefused as refused:
        offer_status = session.scalar(sa.select(Offer.status).where(Offer.id == match.offer_id))
        if refused.current is MatchStatus.CANCELLED and offer_status is OfferStatus.CANCELLED:
            raise OfferCancelled() from refused
        raise


def accept(session: Session, driver: Driver, match_id: int, clock: Clock) -> Match:
    """The driver takes a proposed passenger (PROPOSED → ACCEPTED).

    When the resident had already chosen this driver by SMS, their choice is the
    confirmation (as for seats on an offer, the other way round): the match is
    confirmed and the resident told. Otherwise it waits for the passenger.
    """
    match = own_match(session, driver, match_id)
    _answer(session, driver, match, MatchStatus.ACCEPTED, clock)
    if _chosen_by_resident(session, match):
        resident = _resident_of(session, match)
        bookings.transition(
            session,
            match,
            MatchStatus.CONFIRMED,
            actor=f"resident:{resident.id}",
            clock=clock,
            reason="choisi par le passager avant l'accord du conducteur",
        )
        request = session.get_one(Request, match.request_id)
        if request.return_at is not None and not request.one_way:
            # A round trip: the resident hears once both legs are confirmed, in one SMS naming both.
            reminders.enqueue_confirmation(session, reminders.booking_of(session, match))
            return match
        _tell_passenger(
            session,
            driver,
            resident,
            f"match:{match.id}:confirmed",
            render(
                "confirmed",
                first_name=driver.first_name,
                pickup_at=match.pickup_at,
                place=session.get_one(Commune, request.pickup_commune_insee).name,
            ),
            match.pickup_at,
        )
    return match


def decline(session: Session, driver: Driver, match_id: int, clock: Clock) -> Match:
    """The driver cannot take this passenger: the request waits for someone else, the resident is told."""
    match = own_match(session, driver, match_id)
    _answer(session, driver, match, MatchStatus.DECLINED, clock)
    if reminders.told_out_only(session, match):
        return match  # one text for the resident: the way there holds, this driver cannot bring them home
    _tell_passenger(
        session,
        driver,
        _resident_of(session, match),
        f"match:{match.id}:declined",
        render(
            "driver_declined", first_name=driver.first_name, pickup_at=match.pickup_at, leg=match.leg.value
        ),
        match.pickup_at,
    )
    return match
