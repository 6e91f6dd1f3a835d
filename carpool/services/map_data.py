"""What the coordinators' map shows: today's trips, open requests, drivers' homes, all coarsened.

Read-only queries for one association; no Flask. The same items feed the
server-rendered list and the JSON the browser draws on the map, so nothing is
on the map that the list does not show.

Nobody's exact address leaves the server here: trips and requests are placed
at the centre (town hall) of their communes, never at the resident's door,
and a driver's home is moved to the centre of its ~1 km grid cell
(``coarsen``). Trip purposes (often health) are never part of the map data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from carpool.clock import PARIS
from carpool.db import lon_lat
from carpool.labels import NEEDS
from carpool.models import (
    Commune,
    Driver,
    Match,
    MatchStatus,
    Request,
    RequestStatus,
    Resident,
    VettingStatus,
)
from carpool.services.board import STAGES, trips_between

#: Grid steps in degrees: 0.01° of latitude ≈ 1.1 km; 0.015° of longitude ≈ 1.05–1.25 km
#: across mainland France (42–51° N). Cells are about 1 km on each side.
GRID_LAT = 0.01
GRID_LON = 0.015
#: How far ahead open requests are shown.
REQUEST_DAYS = 7
#: Trips worth drawing today; declined, expired and cancelled ones are not on the road.
ON_THE_ROAD = (MatchStatus.PROPOSED, MatchStatus.ACCEPTED, MatchStatus.CONFIRMED, MatchStatus.COMPLETED)

COARSENING = (
    "Les demandes et les trajets sont placés au centre de leur commune, jamais au domicile ; "
    "le domicile d'un conducteur est ramené au centre de son carré d'environ 1 km de côté."
)


@dataclass(frozen=True)
class Spot:
    """A place as the map may show it: a commune centre or a grid-cell centre."""

    name: str
    lon: float
    lat: float


@dataclass(frozen=True)
class TripItem:
    match_id: int
    pickup_at: datetime
    stage: str
    stage_label: str
    passenger: str
    driver: str
    origin: Spot
    destination: Spot


@dataclass(frozen=True)
class RequestItem:
    request_id: int
    earliest: datetime
    latest: datetime
    passenger: str
    passengers: int
    needs: tuple[str, ...]
    origin: Spot
    destination: Spot


@dataclass(frozen=True)
class HomeItem:
    driver_id: int
    driver: str
    seats: int
    wheelchair_accessible: bool
    home: Spot


@dataclass(frozen=True)
class MapData:
    day: datetime
    trips: list[TripItem]
    requests: list[RequestItem]
    homes: list[HomeItem]


def coarsen(lon: float, lat: float) -> tuple[float, float]:
    """The centre of the ~1 km grid cell holding (lon, lat): close enough to plan, not to find a door."""
    cell_lon = (math.floor(lon / GRID_LON) + 0.5) * GRID_LON
    cell_lat = (math.floor(lat / GRID_LAT) + 0.5) * GRID_LAT
    return (round(cell_lon, 5), round(cell_lat, 5))


def collect(session: Session, association_id: int, now: datetime) -> MapData:
    """Everything the map shows for ``association_id`` at ``now``."""
    start = datetime.combine(now.astimezone(PARIS).date(), datetime.min.time(), tzinfo=PARIS)
    return MapData(
        day=start,
        trips=today_trips(session, association_id, start),
        requests=open_requests(session, association_id, now, start + timedelta(days=REQUEST_DAYS + 1)),
        homes=driver_homes(session, association_id),
    )


def today_trips(session: Session, association_id: int, start: datetime) -> list[TripItem]:
    """Matches picking up on the Paris day beginning at ``start``."""
    rows: Sequence[Any] = session.execute(
        trips_between(
            lambda origin, destination: (Match, Resident, Driver, origin, destination),
            association_id,
            start,
            start + timedelta(days=1),
            ON_THE_ROAD,
        )
    ).all()
    return [
        TripItem(
            match_id=match.id,
            pickup_at=match.pickup_at,
            stage=_stage(match.status),
            stage_label=STAGES[_stage(match.status)],
            passenger=_name(resident.first_name, resident.last_name),
            driver=_name(driver.first_name, driver.last_name),
            origin=_commune(start_commune),
            destination=_commune(end_commune),
        )
        for match, resident, driver, start_commune, end_commune in rows
    ]


def open_requests(session: Session, association_id: int, now: datetime, until: datetime) -> list[RequestItem]:
    """Requests still waiting for a driver whose appointment is between now and ``until``."""
    origin, destination = aliased(Commune), aliased(Commune)
    rows = session.execute(
        sa.select(Request, Resident, origin, destination)
        .join(Resident, Request.resident_id == Resident.id)
        .join(origin, origin.insee == Request.pickup_commune_insee)
        .join(destination, destination.insee == Request.dropoff_commune_insee)
        .where(
            Request.association_id == association_id,
            Request.status == RequestStatus.OPEN,
            Request.latest >= now,
            Request.latest < until,
        )
        .order_by(Request.latest, Request.id)
    ).all()
    return [
        RequestItem(
            request_id=request.id,
            earliest=request.earliest,
            latest=request.latest,
            passenger=_name(resident.first_name, resident.last_name),
            passengers=request.passengers,
            needs=tuple(NEEDS[need] for need in sorted(resident.needs)),
            origin=_commune(start_commune),
            destination=_commune(end_commune),
        )
        for request, resident, start_commune, end_commune in rows
    ]


def driver_homes(session: Session, association_id: int) -> list[HomeItem]:
    """Vetted drivers' homes, each moved to the centre of its grid cell."""
    rows = session.execute(
        sa.select(Driver, Commune.name)
        .join(Commune, Commune.insee == Driver.home_commune_insee)
        .where(Driver.association_id == association_id, Driver.vetting == VettingStatus.VETTED)
        .order_by(Commune.name, Driver.last_name, Driver.first_name, Driver.id)
    ).all()
    homes = []
    for driver, commune in rows:
        lon, lat = coarsen(*lon_lat(driver.home_point))
        homes.append(
            HomeItem(
                driver_id=driver.id,
                driver=_name(driver.first_name, driver.last_name),
                seats=driver.seats,
                wheelchair_accessible=driver.wheelchair_accessible,
                home=Spot(commune, lon, lat),
            )
        )
    return homes


def _commune(commune: Commune) -> Spot:
    """A commune's centre (its town hall): public, and shared by everyone who lives there."""
    lon, lat = lon_lat(commune.point)
    return Spot(commune.name, round(lon, 5), round(lat, 5))


def _stage(status: MatchStatus) -> str:
    return "done" if status is MatchStatus.COMPLETED else status.value


def _name(first: str, last: str) -> str:
    return f"{first} {last}".strip()
