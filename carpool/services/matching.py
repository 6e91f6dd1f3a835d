"""The one door from the application to the matcher.

Web pages, the SMS conversation and the dashboard call these functions; they
load offers and volunteers from the database, keep a ``CandidateIndex`` per
association in memory and refresh it from ``offer.updated_at``, so a request
costs an index query, not a reload of every offer.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool import matching
from carpool.clock import PARIS, Clock
from carpool.db import lon_lat
from carpool.matching.feasibility import single_route
from carpool.matching.model import from_min
from carpool.models.people import Association, AvailabilitySlot, Driver, Resident, TimeOff, VettingStatus
from carpool.models.trips import Leg, Match, MatchStatus, Offer, OfferStatus, Purpose, Request

#: How far ahead volunteers' weekly slots are unrolled into dated slots.
HORIZON = timedelta(days=15)
#: Re-read offers changed this long before the last refresh: a transaction that
#: committed late with an older ``updated_at`` is still picked up.
REFRESH_OVERLAP = timedelta(minutes=5)
ACTIVE_MATCH = (MatchStatus.PROPOSED, MatchStatus.ACCEPTED, MatchStatus.CONFIRMED)


@dataclass(frozen=True)
class RideOption:
    """One way to serve a request, in the application's terms."""

    driver_id: int
    offer_id: int | None  # None: a volunteer drives from home
    pickup_at: datetime
    dropoff_at: datetime
    detour_min: float
    leg: Leg = Leg.OUT


@dataclass(frozen=True)
class RoundTripOption:
    """A way to serve a whole request: its outward leg and, for a round trip, the way back.

    ``back`` is None when the request asks for no way back (or accepted a one-way trip).
    """

    out: RideOption
    back: RideOption | None = None

    @property
    def same_driver(self) -> bool:
        return self.back is not None and self.back.driver_id == self.out.driver_id

    @property
    def waits(self) -> bool:
        """A volunteer who waits at the appointment: one duty, accepted once, for both legs."""
        return (
            self.same_driver
            and self.out.offer_id is None
            and self.back is not None
            and self.back.offer_id is None
        )

    @property
    def legs(self) -> tuple[RideOption, ...]:
        return (self.out,) if self.back is None else (self.out, self.back)


@dataclass
class _CachedIndex:
    index: matching.CandidateIndex
    built_for: date
    seen_until: datetime
    volunteer_key: tuple[object, ...]
    # offer id → the updated_at last applied: the refresh overlap re-reads rows, not re-indexes them
    versions: dict[int, datetime] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_cache: dict[tuple[str, int], _CachedIndex] = {}
_cache_lock = threading.Lock()


def offer_id(offer: Offer) -> str:
    return f"o{offer.id}"


def volunteer_id(driver: Driver) -> str:
    return f"v{driver.id}"


def to_matching_request(request: Request, resident: Resident, leg: Leg = Leg.OUT) -> matching.Request:
    """The request as the matcher sees it; ``Leg.BACK``: the way home as a one-way trip.

    The outward form keeps the return time, so a volunteer who waits there and
    brings the resident home is among its options (his duty covers both legs).
    """
    both = matching.Request(
        id=str(request.id),
        pickup=lon_lat(request.pickup_point),
        dropoff=lon_lat(request.dropoff_point),
        earliest=request.earliest,
        latest=request.latest,
        passengers=request.passengers,
        needs=frozenset({"wheelchair"}) if resident.uses_wheelchair else frozenset(),
        medical=request.purpose is Purpose.MEDICAL,
        return_time=request.return_at,
        return_latest=request.return_latest,
    )
    if leg is Leg.OUT:
        return both
    if request.return_at is None:
        raise ValueError(f"request {request.id} asks for no way back")
    return matching.back_leg(both)


def _capabilities(driver: Driver) -> frozenset[str]:
    return frozenset({"wheelchair"}) if driver.wheelchair_accessible else frozenset()


def _to_matching_offer(offer: Offer, driver: Driver) -> matching.Offer:
    return matching.Offer(
        id=offer_id(offer),
        origin=lon_lat(offer.origin_point),
        destination=lon_lat(offer.destination_point),
        depart_earliest=offer.depart_earliest,
        depart_latest=offer.depart_latest,
        seats=offer.seats_left,
        max_detour_min=offer.max_detour_min,
        capabilities=_capabilities(driver),
    )


def _usable(offer: Offer, driver: Driver, now: datetime) -> bool:
    return (
        offer.status is OfferStatus.OPEN
        and offer.seats_left > 0
        and offer.depart_latest >= now
        and driver.vetting is VettingStatus.VETTED
    )


def _offer_rows(session: Session, association_id: int, now: datetime):  # type: ignore[no-untyped-def]
    """The association's open offers still to come, with their drivers (the daily build)."""
    query = sa.select(Offer, Driver).join(Driver, Offer.driver_id == Driver.id)
    query = query.where(
        Driver.association_id == association_id, Offer.status == OfferStatus.OPEN, Offer.depart_latest >= now
    )
    return session.execute(query).all()


def dated_slots(
    weekly: Iterable[AvailabilitySlot], time_off: Iterable[TimeOff], start: datetime, end: datetime
) -> tuple[matching.Slot, ...]:
    """Unroll weekly local-time slots into aware intervals, skipping days off (DST-safe)."""
    away = [(t.first_day, t.last_day) for t in time_off]
    by_weekday: dict[int, list[AvailabilitySlot]] = {}
    for slot in weekly:
        by_weekday.setdefault(slot.weekday, []).append(slot)
    slots = []
    day = start.astimezone(PARIS).date()
    while day <= end.astimezone(PARIS).date():
        if not any(first <= day <= last for first, last in away):
            for slot in by_weekday.get(day.weekday(), ()):
                begin = datetime.combine(day, slot.starts_at, tzinfo=PARIS)
                finish = datetime.combine(day, slot.ends_at, tzinfo=PARIS)
                if finish > start:
                    slots.append(matching.Slot(start=begin, end=finish))
        day += timedelta(days=1)
    return tuple(slots)


def _volunteers(session: Session, association_id: int, now: datetime) -> list[matching.Volunteer]:
    drivers = session.scalars(
        sa.select(Driver).where(
            Driver.association_id == association_id, Driver.vetting == VettingStatus.VETTED
        )
    ).all()
    ids = [d.id for d in drivers]
    weekly: dict[int, list[AvailabilitySlot]] = {}
    for slot in session.scalars(sa.select(AvailabilitySlot).where(AvailabilitySlot.driver_id.in_(ids))):
        weekly.setdefault(slot.driver_id, []).append(slot)
    away: dict[int, list[TimeOff]] = {}
    for period in session.scalars(sa.select(TimeOff).where(TimeOff.driver_id.in_(ids))):
        away.setdefault(period.driver_id, []).append(period)
    busy = dict(
        session.execute(
            sa.select(Match.driver_id, sa.func.count())
            .where(
                Match.driver_id.in_(ids),
                Match.offer_id.is_(None),
                Match.status.in_(ACTIVE_MATCH),
                Match.pickup_at.between(now, now + timedelta(days=7)),
            )
            .group_by(Match.driver_id)
        ).all()
    )
    volunteers = []
    for driver in drivers:
        slots = dated_slots(weekly.get(driver.id, ()), away.get(driver.id, ()), now, now + HORIZON)
        trips_left = driver.max_trips_per_week - busy.get(driver.id, 0)
        if slots and trips_left > 0:
            volunteers.append(
                matching.Volunteer(
                    id=volunteer_id(driver),
                    home=lon_lat(driver.home_point),
                    radius_km=driver.radius_km,
                    slots=slots,
                    max_trips=trips_left,
                    seats=driver.seats,
                    capabilities=_capabilities(driver),
                )
            )
    return volunteers


def _volunteer_key_statements() -> tuple[sa.Select[*tuple[Any, ...]], sa.Select[int, date, date]]:
    """Built once (they run on every matcher call; building them cost more than running them)."""
    association: sa.BindParameter[int] = sa.bindparam("association_id")
    drivers = sa.select(Driver.id).where(Driver.association_id == association).scalar_subquery()
    vetted = sa.and_(Driver.association_id == association, Driver.vetting == VettingStatus.VETTED)
    wheelchair = sa.case((Driver.wheelchair_accessible, Driver.id), else_=0)
    settings = sa.select(
        sa.func.count(),
        sa.func.sum(Driver.id),
        sa.func.sum(Driver.id * Driver.radius_km),
        sa.func.sum(Driver.id * Driver.max_trips_per_week),
        sa.func.sum(Driver.id * Driver.seats),
        sa.func.sum(wheelchair),
    ).where(vetted)
    slots = sa.select(
        sa.func.count(), sa.func.max(AvailabilitySlot.id), sa.func.sum(AvailabilitySlot.id)
    ).where(AvailabilitySlot.driver_id.in_(drivers))
    # Two one-row subqueries side by side: one round trip.
    both = (settings.subquery(), slots.subquery())
    one_row = sa.select(*both).select_from(both[0].join(both[1], sa.true()))
    # Periods are few once past ones are left out; read exactly (SQLite reuses a deleted max id).
    away = (
        sa.select(TimeOff.id, TimeOff.first_day, TimeOff.last_day)
        .where(TimeOff.driver_id.in_(drivers), TimeOff.last_day >= sa.bindparam("today"))
        .order_by(TimeOff.id)
    )
    return one_row, away


_AGGREGATES, _AWAY = _volunteer_key_statements()


def _volunteer_key(session: Session, association_id: int, today: date) -> tuple[object, ...]:
    """Changes whenever vetting, a volunteer's settings, their slots or their time off change.

    One row of aggregates (it runs on every matcher call): the vetted set and each setting
    weighted by the driver's id, so a change to one driver moves a sum; slots are only
    ever inserted or deleted (new ones first), so their count, max and sum of ids move.
    """
    aggregates = session.execute(_AGGREGATES, {"association_id": association_id}).one()
    away = session.execute(_AWAY, {"association_id": association_id, "today": today}).all()
    return (*aggregates, tuple(tuple(row) for row in away))


def _latest_change(session: Session, association_id: int) -> datetime:
    """The watermark of offer changes, read from the rows themselves (not from any clock)."""
    latest = session.scalar(
        sa.select(sa.func.max(Offer.updated_at))
        .join(Driver, Offer.driver_id == Driver.id)
        .where(Driver.association_id == association_id)
    )
    return latest or datetime(1970, 1, 1, tzinfo=UTC)


#: Offers written since a moment (with their versions): what a refresh looks at.
_CHANGED = (
    sa.select(Offer.id, Offer.updated_at)
    .join(Driver, Offer.driver_id == Driver.id)
    .where(Driver.association_id == sa.bindparam("association_id"))
    .where(Offer.updated_at > sa.bindparam("since"))
)


def params_of(session: Session, association_id: int) -> matching.Params:
    """The matcher's constants for one association: its road speed (a town is slower)."""
    association = session.get_one(Association, association_id)
    return matching.Params(speed_kmh=float(association.road_speed_kmh))


def _build(session: Session, association_id: int, now: datetime, params: matching.Params) -> _CachedIndex:
    rows = _offer_rows(session, association_id, now)
    offers = [_to_matching_offer(o, d) for o, d in rows if _usable(o, d, now)]
    volunteers = _volunteers(session, association_id, now)
    index = matching.CandidateIndex(offers=offers, volunteers=volunteers, params=params)
    return _CachedIndex(
        index=index,
        built_for=now.astimezone(PARIS).date(),
        seen_until=_latest_change(session, association_id),
        volunteer_key=_volunteer_key(session, association_id, now.astimezone(PARIS).date()),
        versions={o.id: o.updated_at for o, _d in rows},
    )


def _refresh(cached: _CachedIndex, session: Session, association_id: int, now: datetime) -> None:
    since = cached.seen_until - REFRESH_OVERLAP
    changed = session.execute(_CHANGED, {"association_id": association_id, "since": since}).all()
    stale = [i for i, at in changed if cached.versions.get(i) != at]
    if stale:
        rows = session.execute(
            sa.select(Offer, Driver).join(Driver, Offer.driver_id == Driver.id).where(Offer.id.in_(stale))
        ).all()
        for offer, driver in rows:
            key = offer_id(offer)
            if key in cached.index:
                cached.index.remove(key)
            if _usable(offer, driver, now):
                cached.index.add(_to_matching_offer(offer, driver))
            cached.versions[offer.id] = offer.updated_at
    cached.seen_until = max([cached.seen_until, *(at for _i, at in changed)])
    volunteer_key = _volunteer_key(session, association_id, now.astimezone(PARIS).date())
    if volunteer_key != cached.volunteer_key:
        for gone in list(cached.index.volunteers):
            cached.index.remove_volunteer(gone)
        for volunteer in _volunteers(session, association_id, now):
            cached.index.add_volunteer(volunteer)
        cached.volunteer_key = volunteer_key


def candidate_index(session: Session, association_id: int, clock: Clock) -> matching.CandidateIndex:
    """The association's index, rebuilt each day and refreshed from what changed since."""
    now = clock.now()
    params = params_of(session, association_id)
    key = (session.get_bind().engine.url.render_as_string(hide_password=True), association_id)
    with _cache_lock:
        cached = _cache.get(key)
        today = now.astimezone(PARIS).date()
        # A new day, or the road speed changed on the settings page: built again.
        if cached is None or cached.built_for != today or cached.index.params != params:
            cached = _cache[key] = _build(session, association_id, now, params)
            return cached.index
    with cached.lock:
        _refresh(cached, session, association_id, now)
    return cached.index


def forget_indexes() -> None:
    """Drop every cached index (tests, or after a bulk import)."""
    with _cache_lock:
        _cache.clear()


def ride_options(
    session: Session, request: Request, clock: Clock, limit: int = 3, *, leg: Leg = Leg.OUT
) -> list[RideOption]:
    """Up to ``limit`` ways to serve one leg of ``request``: drivers already on the road first,
    then volunteers (for the way back: offers going the other way, volunteers doing only that)."""
    resident = session.get_one(Resident, request.resident_id)
    index = candidate_index(session, request.association_id, clock)
    wanted = to_matching_request(request, resident, leg)
    return _ride_options(session, index.candidates(wanted, limit=limit), leg)


#: Outward and return options looked at per request before pairing them.
PAIRING_WIDTH = 6


def round_trip_options(
    session: Session, request: Request, clock: Clock, limit: int = 3
) -> list[RoundTripOption]:
    """Up to ``limit`` ways to serve ``request`` whole: a round trip only with both legs.

    A volunteer option of the outward leg keeps the return time, so he waits and
    brings the resident home (his back leg starts at ``return_at``); an offer for
    the outward leg pairs with any way back (an offer going the other way, a
    volunteer doing only that) that does not reuse its seats and starts after it.
    Offers first, then least detour, the same driver for both legs when equal.
    """
    if request.return_at is None or request.one_way:
        return [RoundTripOption(o) for o in ride_options(session, request, clock, limit)]
    width = max(limit, PAIRING_WIDTH)
    outs = ride_options(session, request, clock, width)
    backs = ride_options(session, request, clock, width, leg=Leg.BACK)
    pairs = [pair for out in outs for pair in _pairs(request, out, backs)]
    pairs.sort(key=_pair_rank)
    return pairs[:limit]


def _pairs(request: Request, out: RideOption, backs: list[RideOption]) -> list[RoundTripOption]:
    assert request.return_at is not None
    if out.offer_id is None:
        # The same route the other way: the ride home takes as long as the ride there.
        start = request.return_at
        back = RideOption(out.driver_id, None, start, start + (out.dropoff_at - out.pickup_at), 0.0, Leg.BACK)
        return [RoundTripOption(out, back)]
    return [
        RoundTripOption(out, back)
        for back in backs
        if (back.offer_id is None or back.offer_id != out.offer_id) and back.pickup_at >= out.dropoff_at
    ]


def _pair_rank(pair: RoundTripOption) -> tuple[int, float, bool, datetime]:
    volunteers = sum(leg.offer_id is None for leg in pair.legs) - pair.waits  # a waiting one is one duty
    detour = round(sum(leg.detour_min for leg in pair.legs), 1)
    return (volunteers, detour, not pair.same_driver, pair.out.pickup_at)


def _ride_options(session: Session, options: list[matching.Option], leg: Leg = Leg.OUT) -> list[RideOption]:
    offer_ids = [int(o.offer_id[1:]) for o in options if o.offer_id is not None]
    drivers = dict(session.execute(sa.select(Offer.id, Offer.driver_id).where(Offer.id.in_(offer_ids))).all())
    return [
        RideOption(
            driver_id=drivers[int(o.offer_id[1:])] if o.offer_id else int(str(o.volunteer_id)[1:]),
            offer_id=int(o.offer_id[1:]) if o.offer_id else None,
            pickup_at=o.pickup_at,
            dropoff_at=o.dropoff_at,
            detour_min=o.detour_min,
            leg=leg,
        )
        for o in options
        # An offer the index still holds but the database no longer has (deleted by hand) is skipped.
        if o.offer_id is None or int(o.offer_id[1:]) in drivers
    ]


def why_unmatched(session: Session, request: Request, clock: Clock) -> tuple[str, matching.NearMiss | None]:
    """The matcher's most useful reason for a request nobody can serve, and the nearest miss."""
    resident = session.get_one(Resident, request.resident_id)
    index = candidate_index(session, request.association_id, clock)
    reason, near_miss = index.diagnose(to_matching_request(request, resident))
    return str(reason), near_miss


def diagnose_many(
    session: Session, association_id: int, requests: list[Request], clock: Clock
) -> list[tuple[str, matching.NearMiss | None]]:
    """``why_unmatched`` for many requests of one association, in one vectorised pass."""
    if not requests:
        return []
    ids = {r.resident_id for r in requests}
    residents = {p.id: p for p in session.scalars(sa.select(Resident).where(Resident.id.in_(ids)))}
    index = candidate_index(session, association_id, clock)
    found = index.diagnose_many([to_matching_request(r, residents[r.resident_id]) for r in requests])
    return [(str(reason), near) for reason, near in found]


#: How far outside the request's window the dashboard looks for near-misses.
NEAR_MISS_SLACK = timedelta(minutes=60)


@dataclass(frozen=True)
class NearMiss:
    """An option that breaks one rule by a little: the coordinator may still propose it."""

    option: RideOption
    reason: str  # a matching.Reason
    missed_by_min: float


def near_misses(
    session: Session, request: Request, clock: Clock, limit: int = 3, *, leg: Leg = Leg.OUT
) -> list[NearMiss]:
    """The best options just outside the leg's window, and the best too-long detour.

    Each comes with the times the driver would really keep, so proposing it tells the
    resident the truth ("arrivée 10 h 10" for a 10 h appointment).
    """
    resident = session.get_one(Resident, request.resident_id)
    index = candidate_index(session, request.association_id, clock)
    wanted = to_matching_request(request, resident, leg)
    relaxed = dataclasses.replace(
        wanted, earliest=wanted.earliest - NEAR_MISS_SLACK, latest=wanted.latest + NEAR_MISS_SLACK
    )
    misses: list[NearMiss] = []
    for option in _ride_options(session, index.candidates(relaxed, limit=limit + 3), leg):
        late = (option.dropoff_at - wanted.latest).total_seconds() / 60
        early = (wanted.earliest - option.pickup_at).total_seconds() / 60
        if max(late, early) > 0.5:
            misses.append(NearMiss(option, "no_offer_in_time_window", round(max(late, early))))
    _reason, headline = index.diagnose(wanted)
    detour = (
        _detour_option(session, index, wanted, headline.offer_id, leg)
        if headline is not None and headline.reason == "detour_too_long" and headline.offer_id
        else None
    )
    if detour is not None and headline is not None:
        misses.append(NearMiss(detour, "detour_too_long", round(headline.missed_by_min)))
    misses.sort(key=lambda m: m.missed_by_min)
    return misses[:limit]


def _detour_option(
    session: Session, index: matching.CandidateIndex, wanted: matching.Request, key: str, leg: Leg = Leg.OUT
) -> RideOption | None:
    """The times an offer would keep if its driver accepted a longer detour."""
    offer = session.get(Offer, int(key[1:]))
    if offer is None:
        return None
    driver = session.get_one(Driver, offer.driver_id)
    relaxed = dataclasses.replace(_to_matching_offer(offer, driver), max_detour_min=120)
    route = single_route(relaxed, wanted, index.params, index.router)
    if route is None:
        return None
    pickup, dropoff = route.arrivals
    return RideOption(
        driver_id=driver.id,
        offer_id=offer.id,
        pickup_at=from_min(pickup, PARIS),
        dropoff_at=from_min(dropoff, PARIS),
        detour_min=round(route.detour, 1),
        leg=leg,
    )


# --- the joint (batch) matcher over open requests -------------------------------------------


@dataclass(frozen=True)
class BatchPlan:
    """What the joint matcher found for some open requests: one whole trip per request served."""

    trips: dict[int, RoundTripOption]  # request id → its trip (both legs of a round trip)
    ways_back: dict[int, RideOption]  # request id → a way back for a trip whose way there is booked
    asked: int
    stats: dict[str, float | int]


#: How a way back alone is named among the matcher's requests (its request's id, then this).
WAY_BACK = ":back"


def batch_round_trips(
    session: Session,
    association_id: int,
    requests: list[Request],
    clock: Clock,
    ways_back: Sequence[Request] = (),
) -> BatchPlan:
    """Serve ``requests`` together with the association's open offers and volunteers (round trips atomic).

    The same offers (seats left), volunteers (trips left this week) and parameters as the
    per-request options, but one joint answer: no seat is promised twice, and the most
    people (medical first) get a whole trip. ``ways_back``: requests whose way there is
    booked and whose way back is missing, matched in the same answer as one-way trips home.
    Reads only; nothing is booked here.
    """
    now = clock.now()
    rows = _offer_rows(session, association_id, now)
    offers = [_to_matching_offer(o, d) for o, d in rows if _usable(o, d, now)]
    drivers = {offer.id: driver.id for offer, driver in rows}
    wanting = {r.resident_id for r in [*requests, *ways_back]}
    residents = {p.id: p for p in session.scalars(sa.select(Resident).where(Resident.id.in_(wanting)))}
    wanted = []
    for request in requests:
        asked = to_matching_request(request, residents[request.resident_id])
        if request.one_way:  # the resident goes without a way back
            asked = dataclasses.replace(asked, return_time=None, return_latest=None)
        wanted.append(asked)
    for request in ways_back:
        home = to_matching_request(request, residents[request.resident_id], Leg.BACK)
        wanted.append(dataclasses.replace(home, id=f"{request.id}{WAY_BACK}"))
    result = matching.match_round_trips(offers, _volunteers(session, association_id, now), wanted)
    legs: dict[int, dict[Leg, RideOption]] = {}
    backs: dict[int, RideOption] = {}
    for a in result.assignments:
        option = RideOption(
            driver_id=drivers[int(a.offer_id[1:])] if a.offer_id else int(str(a.volunteer_id)[1:]),
            offer_id=int(a.offer_id[1:]) if a.offer_id else None,
            pickup_at=a.pickup_at,
            dropoff_at=a.dropoff_at,
            detour_min=a.detour_min,
            leg=Leg(a.leg),
        )
        if a.request_id.endswith(WAY_BACK):  # a one-way trip to the matcher: home, for us
            backs[int(a.request_id.removesuffix(WAY_BACK))] = dataclasses.replace(option, leg=Leg.BACK)
        else:
            legs.setdefault(int(a.request_id), {})[option.leg] = option
    trips = {
        request_id: RoundTripOption(both[Leg.OUT], both.get(Leg.BACK))
        for request_id, both in legs.items()
        if Leg.OUT in both
    }
    return BatchPlan(trips, backs, len(requests) + len(ways_back), dict(result.stats))
