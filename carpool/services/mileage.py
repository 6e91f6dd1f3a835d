"""Monthly mileage statement of a volunteer driver.

Kilometres are estimated with the matcher's router (crow-fly distance × 1.3,
``carpool.matching.CrowFlyRouter``), the rural circuity measured in NOTES.md,
so the statement is the same whatever the database and needs no routing service:

* a trip on an offered ride counts the kilometres with the passenger on board
  (pickup → drop-off): the driver was making the trip anyway;
* a dedicated volunteer trip counts the whole loop driven for the passenger
  (home → pickup → drop-off → home).

The passenger's contribution is those kilometres × the association's rate per km
(``Association.rate_per_km``, 0.32 €/km by default, the legal cap for volunteers).
Only completed trips count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import PARIS
from carpool.db import lon_lat
from carpool.matching import CrowFlyRouter
from carpool.models import Association, Commune, Driver, Match, MatchStatus, Request, Resident
from carpool.services import exports
from carpool.services.exports import decimal_comma, safe_cell

ROUTER = CrowFlyRouter()
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Trip:
    day: date
    passenger: str
    route: str
    kind: str  # "trajet proposé" or "trajet bénévole"
    km: Decimal
    contribution: Decimal


@dataclass(frozen=True)
class Statement:
    driver: Driver
    association: Association
    month: date  # first day of the month
    rate_per_km: Decimal
    trips: list[Trip]

    @property
    def total_km(self) -> Decimal:
        return sum((t.km for t in self.trips), Decimal("0.0"))

    @property
    def total_contribution(self) -> Decimal:
        return sum((t.contribution for t in self.trips), Decimal("0.00"))


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The month in Europe/Paris, as aware datetimes [start, end)."""
    start = datetime(month.year, month.month, 1, tzinfo=PARIS)
    end = datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=PARIS)
    return start, end


def statement(session: Session, driver: Driver, month: date) -> Statement:
    association = session.get_one(Association, driver.association_id)
    rate = Decimal(association.rate_per_km)
    start, end = month_bounds(month)
    rows = session.execute(
        sa.select(Match, Request, Resident)
        .join(Request, Match.request_id == Request.id)
        .join(Resident, Request.resident_id == Resident.id)
        .where(
            Match.driver_id == driver.id,
            Match.status == MatchStatus.COMPLETED,
            Match.pickup_at >= start,
            Match.pickup_at < end,
        )
        .order_by(Match.pickup_at)
    ).all()
    names = dict(session.execute(sa.select(Commune.insee, Commune.name)).all())
    trips = []
    for match, request, resident in rows:
        pickup, dropoff = lon_lat(request.pickup_point), lon_lat(request.dropoff_point)
        if match.offer_id is None:
            home = lon_lat(driver.home_point)
            km = (
                ROUTER.distance_km(home, pickup)
                + ROUTER.distance_km(pickup, dropoff)
                + ROUTER.distance_km(dropoff, home)
            )
            kind = "trajet bénévole"
        else:
            km = ROUTER.distance_km(pickup, dropoff)
            kind = "trajet proposé"
        km_rounded = Decimal(str(km)).quantize(Decimal("0.1"), ROUND_HALF_UP)
        trips.append(
            Trip(
                day=match.pickup_at.astimezone(PARIS).date(),
                passenger=resident.first_name,
                route=f"{names[request.pickup_commune_insee]} → {names[request.dropoff_commune_insee]}",
                kind=kind,
                km=km_rounded,
                contribution=(km_rounded * rate).quantize(CENT, ROUND_HALF_UP),
            )
        )
    return Statement(driver, association, date(month.year, month.month, 1), rate, trips)


def to_csv(statement: Statement) -> str:
    """Semicolon-separated with decimal commas, as French spreadsheets expect."""
    rows = [
        [
            trip.day.isoformat(),
            safe_cell(trip.passenger),
            safe_cell(trip.route),
            trip.kind,
            decimal_comma(trip.km),
            decimal_comma(trip.contribution),
        ]
        for trip in statement.trips
    ]
    total = [
        "total",
        "",
        "",
        "",
        decimal_comma(statement.total_km),
        decimal_comma(statement.total_contribution),
    ]
    return exports.to_csv(["date", "passager", "trajet", "type", "km", "participation_eur"], [*rows, total])
