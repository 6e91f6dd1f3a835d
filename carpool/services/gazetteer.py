"""Loading the shipped gazetteer into the database (idempotent upsert)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.db import lon_lat, point
from carpool.errors import InvalidInput
from carpool.gazetteer import (
    NATIONAL_CSV,
    CommuneRecord,
    PlaceRecord,
    read_communes,
    read_neighbours,
    read_places,
)
from carpool.models import Commune, NamedPlace
from carpool.services import audit
from carpool.services.places import UnknownCommune, forget_commune_labels


def commune_count(session: Session) -> int:
    """How many communes are loaded (the health check's proof that the database answers)."""
    return int(session.scalar(sa.select(sa.func.count()).select_from(Commune)) or 0)


@dataclass(frozen=True)
class ImportReport:
    created: int
    updated: int
    unchanged: int
    places_created: int


def known_departements() -> list[str]:
    """Codes of the départements the national gazetteer covers ("01" … "95", "2A", "971" …)."""
    return list(read_neighbours())


def departement_codes(departements: Sequence[str]) -> list[str]:
    """Check and tidy codes typed by a person ("2a" → "2A", "1" → "01"); InvalidInput if unknown."""
    known = set(known_departements())
    codes: list[str] = []
    for typed in departements:
        code = typed.strip().upper()
        if not code:
            continue  # "23,87," or "23, ,87": a stray comma is not a code
        code = code.zfill(2) if code.isdigit() and len(code) == 1 else code
        if code not in known:
            raise InvalidInput.on("departements", f"département inconnu : « {typed.strip()} »")
        if code not in codes:
            codes.append(code)
    if not codes:
        raise InvalidInput.on("departements", "aucun département indiqué")
    return codes


def import_departements(session: Session, departements: Sequence[str]) -> ImportReport:
    """Upsert every commune of these départements from the national gazetteer (idempotent).

    An unknown code raises InvalidInput (in French) before anything is written.
    """
    codes = departement_codes(departements)
    records = read_communes(NATIONAL_CSV, departements=set(codes))
    return _upsert(session, records, source="départements " + ",".join(codes))


def import_all(session: Session) -> ImportReport:
    """Upsert every commune of France that the national gazetteer places."""
    return _upsert(session, read_communes(NATIONAL_CSV), source=NATIONAL_CSV.name)


@lru_cache(maxsize=1)
def _national_by_insee() -> dict[str, CommuneRecord]:
    return {record.insee: record for record in read_communes(NATIONAL_CSV)}


def commune_or_import(session: Session, insee: str) -> Commune:
    """The commune, imported from the national gazetteer first if this database lacks it.

    SMS are read against every commune of France; a resident of the Lot may still
    ask for Nancy. Raises UnknownCommune for a code the national gazetteer lacks too.
    """
    commune = session.get(Commune, insee)
    if commune is not None:
        return commune
    record = _national_by_insee().get(insee)
    if record is None:
        raise UnknownCommune(insee)
    _upsert(session, [record], source=f"commune {insee}")
    return session.get_one(Commune, insee)


def import_communes(session: Session, path: Path) -> ImportReport:
    """Upsert every commune of ``path``; a malformed file raises before anything is written."""
    return _upsert(session, read_communes(path), source=path.name)


def _upsert(session: Session, records: list[CommuneRecord], source: str) -> ImportReport:
    places = read_places()
    codes = [r.insee for r in records]
    existing: dict[str, Commune] = {}
    for start in range(0, len(codes), 500):  # a few hundred at a time: bounded SQL parameters
        chunk = codes[start : start + 500]
        existing.update(
            (c.insee, c) for c in session.scalars(sa.select(Commune).where(Commune.insee.in_(chunk)))
        )
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
    places_created = _import_places(session, places, set(session.scalars(sa.select(Commune.insee))))
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
