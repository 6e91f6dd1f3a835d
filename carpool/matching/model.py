"""Plain dataclasses shared by every part of the matching engine.

Dataclasses in, dataclasses out: the web, SMS and CLI layers build these from
their own storage and never see NumPy or OR-Tools. Times are timezone-aware
``datetime`` objects; internally the engine works in float epoch minutes,
which makes DST days and midnight crossings a non-issue (absolute time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Literal

Point = tuple[float, float]
"""A WGS84 position as (lon, lat) in degrees."""

EPS_MIN = 1e-6
"""Tolerance (minutes, i.e. 60 µs) for every time comparison, so that the NumPy and
pure-Python paths agree despite last-bit rounding differences."""


def to_min(moment: datetime) -> float:
    """Epoch minutes of an aware datetime (absolute, so DST-safe)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: a timezone is required")
    return moment.timestamp() / 60.0


def from_min(minutes: float, tz: tzinfo = UTC) -> datetime:
    """Aware datetime from epoch minutes, rounded to the microsecond."""
    return datetime.fromtimestamp(minutes * 60.0, tz)


@dataclass(frozen=True, slots=True)
class Params:
    """Tunable constants of the model (the file format's ``params`` block)."""

    circuity: float = 1.3
    speed_kmh: float = 50.0
    dwell_min: float = 3.0
    max_requests_per_offer: int = 6
    """Upper bound on requests packed on one offer by the exact insertion search."""


@dataclass(frozen=True, slots=True)
class Offer:
    """An en-route driver: leaves O in [depart_earliest, depart_latest] for E."""

    id: str
    origin: Point
    destination: Point
    depart_earliest: datetime
    depart_latest: datetime
    seats: int
    max_detour_min: float | None = None
    """None means clamp(25 % of the direct O→E time, 10, 20) minutes."""
    capabilities: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Slot:
    """An absolute availability interval of a volunteer."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Volunteer:
    """A dedicated driver who leaves home H to serve requests within radius_km."""

    id: str
    home: Point
    radius_km: float
    slots: tuple[Slot, ...]
    max_trips: int
    seats: int = 4
    capabilities: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Request:
    """A resident's trip: not picked up before earliest, dropped off by latest."""

    id: str
    pickup: Point
    dropoff: Point
    earliest: datetime
    latest: datetime
    passengers: int = 1
    needs: frozenset[str] = frozenset()
    medical: bool = False
    return_time: datetime | None = None
    """Round trip: the resident is ready to come home from this time (None: one way)."""
    return_latest: datetime | None = None
    """Round trip: home no later than this (None: return_time + 90 min in
    :func:`carpool.matching.roundtrip.match_round_trips`; ignored by ``match_batch``)."""


@dataclass(frozen=True, slots=True)
class Option:
    """One feasible way to serve a request alone (an offer or a volunteer duty)."""

    request_id: str
    offer_id: str | None
    volunteer_id: str | None
    depart_at: datetime
    """When the driver leaves O (offer) or H (volunteer)."""
    pickup_at: datetime
    dropoff_at: datetime
    detour_min: float
    """Offer: minutes lost by the driver. Volunteer: driving + stop minutes of the duty."""
    end_at: datetime | None = None
    """Volunteer only: end of the duty as checked against the slot."""
    busy_until: datetime | None = None
    """Volunteer only: back home (used for the no-overlap rule)."""


StopKind = Literal["pickup", "dropoff"]
Leg = Literal["out", "back"]
"""Which leg of a request: "out" (to the appointment, or a one-way trip) or "back" (home)."""


@dataclass(frozen=True, slots=True)
class Stop:
    request_id: str
    kind: StopKind
    at: datetime
    leg: Leg = "out"


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """The exact plan of one offer: departure and ordered stops (for re-verification)."""

    offer_id: str
    depart_at: datetime
    stops: tuple[Stop, ...]
    detour_min: float


@dataclass(frozen=True, slots=True)
class Assignment:
    request_id: str
    offer_id: str | None
    volunteer_id: str | None
    pickup_at: datetime
    dropoff_at: datetime
    detour_min: float
    """Offer: this request's marginal share of the route detour (shares sum to the
    route's detour). Volunteer: driving + stop minutes of the duty."""
    depart_at: datetime
    passengers: int = 1
    medical: bool = False
    leg: Leg = "out"


Reason = Literal[
    "no_offer",
    "no_offer_in_time_window",
    "detour_too_long",
    "no_seat",
    "needs_not_met",
    "outside_volunteer_radius",
    "no_volunteer_slot",
    "volunteer_trip_cap_reached",
    "taken_by_other_request",
    "no_return",
]


@dataclass(frozen=True, slots=True)
class NearMiss:
    """The closest option that did not work, for the coordinator dashboard."""

    offer_id: str | None
    volunteer_id: str | None
    reason: Reason
    missed_by_min: float
    detail: str


@dataclass(frozen=True, slots=True)
class Unmatched:
    request_id: str
    reason: Reason
    near_miss: NearMiss | None = None


@dataclass(slots=True)
class MatchResult:
    assignments: list[Assignment] = field(default_factory=list)
    unmatched: list[Unmatched] = field(default_factory=list)
    routes: list[RoutePlan] = field(default_factory=list)
    stats: dict[str, float | int] = field(default_factory=dict)
