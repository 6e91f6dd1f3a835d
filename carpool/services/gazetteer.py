"""Loading the shipped gazetteer into the database (idempotent upsert)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.db import lon_lat, point
from carpool.errors import InvalidInput
from carpool.gazetteer import CommuneRecord, PlaceRecord, read_communes, read_places
from carpool.models import Commune, NamedPlace
from carpool.services import audit
from carpool.services.places import forget_commune_labels


def commune_count(session: Session) -> int:
    """How many communes are loaded (the health check's proof that the database answers)."""
    return int(session.scalar(sa.select(sa.func.count()).select_from(Commune)) or 0)


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int
    unchanged: int
    places_created: int


def import_communes(session: Session, path: Path) -> ImportReport:
    """Upsert every commune of ``path``; a malformed file raises before anything is written."""
    return import_records(session, read_communes(path), path.name)


def import_records(session: Session, records: Sequence[CommuneRecord], source: str) -> ImportReport:
    """Upsert these communes and the shared named places inside them; audited as from ``source``."""
    places = read_places()
    existing = {c.insee: c for c in session.scalars(sa.select(Commune))}
    created = updated = unchanged = 0
    for record in records:
        commune = existing.get(record.insee)
        if commune is None:
            session.add(
                Commune(
                    insee=record.insee,
                    name=record.name,
                    postcode=record.postcode,
                    population=record.population,
                    point=point(record.lon, record.lat),
                )
            )
            created += 1
            continue
        wanted = (record.name, record.postcode, record.population, (record.lon, record.lat))
        have = (commune.name, commune.postcode, commune.population, lon_lat(commune.point))
        if wanted == have:
            unchanged += 1
            continue
        commune.name, commune.postcode, commune.population = record.name, record.postcode, record.population
        commune.point = point(record.lon, record.lat)
        updated += 1
    session.flush()
    places_created = _import_places(session, places, {r.insee for r in records} | set(existing))
    audit.record(
        session,
        "cli",
        "communes.imported",
        file=source,
        created=created,
        updated=updated,
        unchanged=unchanged,
        places_created=places_created,
    )
    session.flush()
    forget_commune_labels()  # this process at once; other processes see the table's fingerprint change
    return ImportReport(created, updated, unchanged, places_created)


def _import_places(session: Session, places: list[PlaceRecord], known_insee: set[str]) -> int:
    """Shared named places (association_id NULL) are added once and never overwritten."""
    have = set(session.scalars(sa.select(NamedPlace.name).where(NamedPlace.association_id.is_(None))))
    added = 0
    for place in places:
        if place.name in have or place.insee not in known_insee:
            continue
        session.add(
            NamedPlace(
                name=place.name, kind=place.kind, commune_insee=place.insee, point=point(place.lon, place.lat)
            )
        )
        added += 1
    return added


def departement_of(insee: str) -> str:
    """The département of a commune: 2 characters, 3 overseas (971 … 976)."""
    return insee[:3] if insee.startswith("97") else insee[:2]


def import_departements(session: Session, departements: Sequence[str]) -> ImportReport:
    """Import the communes of these départements from the shipped gazetteer (idempotent).

    An unknown code raises InvalidInput before anything is written.
    """
    records = read_communes()
    shipped = {departement_of(r.insee) for r in records}
    unknown = [code for code in departements if code not in shipped]
    if unknown:
        raise InvalidInput.on("departements", f"département inconnu : {', '.join(unknown)}")
    wanted = set(departements)
    return import_records(session, [r for r in records if departement_of(r.insee) in wanted], "départements")
