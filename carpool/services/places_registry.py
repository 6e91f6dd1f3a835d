"""The association's named places (hospitals, markets, town halls…): create, edit, archive.

Residents and drivers type these names, and ``places.resolve_place`` reads
them back by their folded name: two places that fold alike would make one of
them unreachable, so names are unique (folded) among the association's active
places and the shared registry. Archiving, not deleting, keeps past trips'
labels; archived places are no longer offered.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carpool.clock import Clock
from carpool.db import lon_lat, point
from carpool.errors import InvalidInput
from carpool.models import Commune, NamedPlace
from carpool.services import audit
from carpool.services.places import resolve_commune
from carpool.text import fold

KINDS = {
    "hopital": "Hôpital",
    "clinique": "Clinique",
    "cabinet": "Cabinet médical",
    "pharmacie": "Pharmacie",
    "marche": "Marché",
    "commerce": "Commerce",
    "mairie": "Mairie",
    "administration": "Administration",
    "gare": "Gare",
    "autre": "Autre",
}
#: Metropolitan France and Corsica, with a margin: beyond is a typo or swapped coordinates.
LAT_RANGE = (41.0, 51.5)
LON_RANGE = (-5.5, 10.0)
#: A place is in its commune: farther than this from the commune's point is a mistake.
MAX_KM_FROM_COMMUNE = 30.0


@dataclass(frozen=True)
class PlaceInput:
    """As typed in the form: the coordinates are optional text ("44,4498" is fine)."""

    name: str
    kind: str
    commune: str
    latitude: str = ""
    longitude: str = ""


@dataclass(frozen=True)
class Registry:
    own: list[tuple[NamedPlace, str]]
    archived: list[tuple[NamedPlace, str]]
    shared: list[tuple[NamedPlace, str]]


def registry(session: Session, association_id: int) -> Registry:
    """Every place the association sees, with its commune's name (one query)."""
    rows = session.execute(
        sa.select(NamedPlace, Commune.name)
        .join(Commune, Commune.insee == NamedPlace.commune_insee)
        .where(sa.or_(NamedPlace.association_id == association_id, NamedPlace.association_id.is_(None)))
        .order_by(NamedPlace.name, NamedPlace.id)
    ).all()
    own = [(p, c) for p, c in rows if p.association_id is not None and p.archived_at is None]
    archived = [(p, c) for p, c in rows if p.association_id is not None and p.archived_at is not None]
    shared = [(p, c) for p, c in rows if p.association_id is None]
    return Registry(own, archived, shared)


def create_place(session: Session, association_id: int, data: PlaceInput, *, actor: str) -> NamedPlace:
    name, kind, commune, where = _checked(session, association_id, data, editing=None)
    place = NamedPlace(
        association_id=association_id, name=name, kind=kind, commune_insee=commune.insee, point=where
    )
    with _unique_name(session):
        session.add(place)
    audit.record(session, actor, "place.created", subject=place, association_id=association_id, name=name)
    return place


def update_place(session: Session, place: NamedPlace, data: PlaceInput, *, actor: str) -> None:
    """Shared places (no association) are read-only here: the caller never passes them."""
    assert place.association_id is not None
    name, kind, commune, where = _checked(session, place.association_id, data, editing=place)
    before = {"name": place.name, "kind": place.kind, "commune": place.commune_insee}
    with _unique_name(session):
        place.name, place.kind, place.commune_insee, place.point = name, kind, commune.insee, where
    audit.record(
        session, actor, "place.updated", subject=place, association_id=place.association_id, before=before
    )


def archive_place(session: Session, place: NamedPlace, *, actor: str, clock: Clock) -> None:
    if place.archived_at is None:
        place.archived_at = clock.now()
        audit.record(session, actor, "place.archived", subject=place, association_id=place.association_id)
        session.flush()


def restore_place(session: Session, place: NamedPlace, *, actor: str) -> None:
    """Offered again, unless an active place has taken its name meanwhile."""
    if place.archived_at is None:
        return
    assert place.association_id is not None
    if clash := _name_clash(session, place.association_id, place.name, editing=place):
        raise InvalidInput.on("", clash)
    place.archived_at = None
    audit.record(session, actor, "place.restored", subject=place, association_id=place.association_id)
    session.flush()


def _checked(
    session: Session, association_id: int, data: PlaceInput, *, editing: NamedPlace | None
) -> tuple[str, str, Commune, object]:
    """Every problem at once, or the clean values."""
    errors: dict[str, str] = {}
    name = " ".join(data.name.split())
    if not name:
        errors["name"] = "Indiquez le nom du lieu, tel que les habitants le disent."
    elif len(name) > 160:
        errors["name"] = "Le nom doit faire au plus 160 caractères."
    elif clash := _name_clash(session, association_id, name, editing=editing):
        errors["name"] = clash
    if data.kind not in KINDS:
        errors["kind"] = "Choisissez un type de lieu dans la liste."
    commune = None
    try:
        commune = resolve_commune(session, data.commune, "commune")
    except InvalidInput as exc:
        errors.update(exc.errors)
    where = _point(data, commune, errors)
    if errors:
        raise InvalidInput(errors)
    assert commune is not None
    return name, data.kind, commune, where


def _name_clash(
    session: Session, association_id: int, name: str, *, editing: NamedPlace | None
) -> str | None:
    wanted = fold(name)
    others = session.scalars(
        sa.select(NamedPlace).where(
            sa.or_(NamedPlace.association_id == association_id, NamedPlace.association_id.is_(None)),
            NamedPlace.id != (editing.id if editing is not None else -1),
        )
    )
    for other in others:
        if fold(other.name) != wanted:
            continue
        if other.association_id is None:
            return f"« {other.name} » existe déjà dans le registre commun : choisissez un autre nom."
        if other.archived_at is not None:
            return f"Un lieu archivé s'appelle déjà « {other.name} » : restaurez-le plutôt."
        return f"Un lieu s'appelle déjà « {other.name} » : choisissez un autre nom."
    return None


def _point(data: PlaceInput, commune: Commune | None, errors: dict[str, str]) -> object:
    """The typed coordinates, else the commune's point."""
    lat_text, lon_text = data.latitude.strip(), data.longitude.strip()
    if not lat_text and not lon_text:
        return commune.point if commune is not None else None
    lat = _coordinate(lat_text, "latitude", LAT_RANGE, errors)
    lon = _coordinate(lon_text, "longitude", LON_RANGE, errors)
    if lat is None or lon is None:
        return None
    if commune is not None:
        c_lon, c_lat = lon_lat(commune.point)
        if _km(lat, lon, c_lat, c_lon) > MAX_KM_FROM_COMMUNE:
            errors["latitude"] = (
                f"Ce point est à plus de {MAX_KM_FROM_COMMUNE:.0f} km de {commune.name} : "
                "vérifiez les coordonnées (latitude et longitude inversées ?)."
            )
            return None
    return point(lon, lat)


def _coordinate(text: str, field: str, bounds: tuple[float, float], errors: dict[str, str]) -> float | None:
    label = "la latitude" if field == "latitude" else "la longitude"
    if not text:
        errors[field] = f"Indiquez aussi {label}, ou laissez les deux coordonnées vides."
        return None
    try:
        value = Decimal(text.replace(",", ".").replace(" ", ""))
    except InvalidOperation:
        value = Decimal("NaN")
    low, high = bounds
    if not value.is_finite() or not low <= float(value) <= high:
        example = "44,4498" if field == "latitude" else "1,4364"
        errors[field] = (
            f"Indiquez {label} en degrés décimaux, en France (entre {low:g} et {high:g}), "
            f"par exemple {example}."
        )
        return None
    return float(value)


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance: precise enough to catch a wrong coordinate."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(a))


@contextmanager
def _unique_name(session: Session) -> Iterator[None]:
    """Two coordinators naming a place at the same moment: the database decides, politely."""
    try:
        with session.begin_nested():
            yield
            session.flush()
    except IntegrityError:
        raise InvalidInput.on("name", "Un lieu porte déjà ce nom : choisissez un autre nom.") from None
