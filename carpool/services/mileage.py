"""Monthly mileage statement of a volunteer driver, and the driver's choice for the month.

Kilometres are estimated with the matcher's router (crow-fly distance × 1.3,
``carpool.matching.CrowFlyRouter``), the rural circuity measured in NOTES.md,
so the statement is the same whatever the database and needs no routing service.
The association's rule (docs/money.md):

* a dedicated volunteer trip counts the whole loop driven for the passenger
  (home → pickup → drop-off → home);
* a seat in the driver's own trip (an offer) counts the detour only: the trip
  through the pickup and the drop-off minus the trip the driver made anyway
  (offer origin → destination), never below zero.

Each trip's kilometres are rounded to 0.1 km; its amount is those km × the
association's drivers' rate (``Association.rate_per_km``, by default the tax
administration's scale, see docs/money.md), rounded half up to the cent.
Only completed trips count.

Once a month is over the driver chooses: reimbursement, or waiver (a gift to
the association, which issues a tax receipt: ``carpool.services.expenses``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import PARIS
from carpool.db import lon_lat
from carpool.matching import CrowFlyRouter
from carpool.models import (
    Association,
    Commune,
    Driver,
    Leg,
    Match,
    MatchStatus,
    MonthlyExpenses,
    Offer,
    Request,
    Resident,
)
from carpool.services import exports
from carpool.services.exports import decimal_comma, safe_cell

ROUTER = CrowFlyRouter()
CENT = Decimal("0.01")
LOOP, DETOUR = "trajet bénévole", "place sur un trajet"
RULES = {LOOP: "de chez vous à chez vous", DETOUR: "le détour seulement"}


@dataclass(frozen=True)
class Trip:
    day: date
    passenger: str
    route: str
    kind: str  # LOOP or DETOUR
    km: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Statement:
    driver: Driver
    association: Association
    month: date  # first day of the month
    rate_per_km: Decimal
    trips: list[Trip]
    choice: MonthlyExpenses | None = None

    @property
    def total_km(self) -> Decimal:
        return sum((t.km for t in self.trips), Decimal("0.0"))

    @property
    def total_amount(self) -> Decimal:
        return sum((t.amount for t in self.trips), Decimal("0.00"))

    @property
    def days(self) -> list[date]:
        return sorted({t.day for t in self.trips})


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The month in Europe/Paris, as aware datetimes [start, end)."""
    start = datetime(month.year, month.month, 1, tzinfo=PARIS)
    end = datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=PARIS)
    return start, end


Point = tuple[float, float]


def driven_between(start: datetime, end: datetime) -> list[sa.ColumnElement[bool]]:
    """Legs actually driven, picked up in [start, end): what the statements and the TUS report count."""
    return [Match.status == MatchStatus.COMPLETED, Match.pickup_at >= start, Match.pickup_at < end]


def _path_km(*points: Point) -> float:
    return sum(ROUTER.distance_km(a, b) for a, b in itertools.pairwise(points))


def trip_km(driver_home: Point, pickup: Point, dropoff: Point, offer: tuple[Point, Point] | None) -> Decimal:
    """The kilometres a trip counts under the association's rule, to 0.1 km."""
    if offer is None:
        km = _path_km(driver_home, pickup, dropoff, driver_home)
    else:
        origin, destination = offer
        km = max(0.0, _path_km(origin, pickup, dropoff, destination) - _path_km(origin, destination))
    return Decimal(str(km)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def statement(session: Session, driver: Driver, month: date) -> Statement:
    association = session.get_one(Association, driver.association_id)
    rate = Decimal(association.rate_per_km)
    start, end = month_bounds(month)
    rows = session.execute(
        sa.select(Match, Request, Resident, Offer)
        .join(Request, Match.request_id == Request.id)
        .join(Resident, Request.resident_id == Resident.id)
        .outerjoin(Offer, Match.offer_id == Offer.id)
        .where(
            Match.driver_id == driver.id,
            *driven_between(start, end),
        )
        .order_by(Match.pickup_at)
    ).all()
    names = dict(session.execute(sa.select(Commune.insee, Commune.name)).all()) if rows else {}
    trips = []
    for match, request, resident, offer in rows:
        pickup, dropoff = lon_lat(request.pickup_point), lon_lat(request.dropoff_point)
        there = [names[request.pickup_commune_insee], names[request.dropoff_commune_insee]]
        if match.leg is Leg.BACK:  # the way back runs from the appointment to home
            pickup, dropoff, there = dropoff, pickup, there[::-1]
        ends = None if offer is None else (lon_lat(offer.origin_point), lon_lat(offer.destination_point))
        km = trip_km(lon_lat(driver.home_point), pickup, dropoff, ends)
        trips.append(
            Trip(
                day=match.pickup_at.astimezone(PARIS).date(),
                passenger=resident.first_name,
                route=" → ".join(there),
                kind=LOOP if offer is None else DETOUR,
                km=km,
                amount=(km * rate).quantize(CENT, ROUND_HALF_UP),
            )
        )
    choice = session.scalar(
        sa.select(MonthlyExpenses).where(
            MonthlyExpenses.driver_id == driver.id, MonthlyExpenses.month == date(month.year, month.month, 1)
        )
    )
    return Statement(driver, association, date(month.year, month.month, 1), rate, trips, choice)


def to_csv(statement: Statement) -> str:
    """Semicolon-separated with decimal commas, as French spreadsheets expect."""
    rows = [
        [
            trip.day.isoformat(),
            safe_cell(trip.passenger),
            safe_cell(trip.route),
            trip.kind,
            decimal_comma(trip.km),
            decimal_comma(trip.amount),
        ]
        for trip in statement.trips
    ]
    total = ["total", "", "", "", decimal_comma(statement.total_km), decimal_comma(statement.total_amount)]
    return exports.to_csv(["date", "passager", "trajet", "type", "km", "indemnite_eur"], [*rows, total])
