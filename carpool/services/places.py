"""Spatial questions about places, answered the same way on SpatiaLite and PostGIS."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.db import dialect_of, distance_m, point
from carpool.models import Commune


class UnknownCommune(LookupError):
    """No commune with that INSEE code in the gazetteer."""


@dataclass(frozen=True)
class CommuneDistance:
    commune: Commune
    km: float


def get_commune(session: Session, insee: str) -> Commune:
    commune = session.get(Commune, insee)
    if commune is None:
        raise UnknownCommune(insee)
    return commune


def communes_within(session: Session, insee: str, km: float) -> list[CommuneDistance]:
    """Communes whose point lies within ``km`` of the commune ``insee`` (itself included), nearest first."""
    centre = get_commune(session, insee)
    distance = distance_m(dialect_of(session), Commune.point, sa.literal(centre.point, Commune.point.type))
    rows = session.execute(
        sa.select(Commune, distance.label("metres"))
        .where(distance <= km * 1000)
        .order_by(distance, Commune.insee)
    ).all()
    return [CommuneDistance(commune, metres / 1000) for commune, metres in rows]


def nearest_commune(session: Session, lon: float, lat: float) -> CommuneDistance:
    """The commune whose reference point is nearest to (lon, lat)."""
    target = sa.literal(point(lon, lat), Commune.point.type)
    distance = distance_m(dialect_of(session), Commune.point, target)
    row = session.execute(
        sa.select(Commune, distance.label("metres")).order_by(distance, Commune.insee).limit(1)
    ).one()
    return CommuneDistance(row[0], row[1] / 1000)
