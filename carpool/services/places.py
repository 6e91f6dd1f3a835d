"""Places: what people type resolved to communes and named places, and spatial questions
about them, answered the same way on SpatiaLite and PostGIS.

Also the autocomplete's labels, read without geometry: communes from a per-process cache
(reference data, checked against the table on every call), named places fresh each time.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.db import dialect_of, distance_m, lon_lat, point
from carpool.errors import InvalidInput
from carpool.gazetteer import PlaceRecord
from carpool.models import Commune, NamedPlace
from carpool.text import fold


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


# --- what people type ----------------------------------------------------------------------


def commune_label(commune: Commune) -> str:
    """What the autocomplete proposes and the resolver reads back: "Cahors (46000)"."""
    return _label(commune.name, commune.postcode)


def _label(name: str, postcode: str) -> str:
    return f"{name} ({postcode})"


_LABELLED = re.compile(r"^(?P<name>.+?)\s*\((?P<code>\d{5})\)$")
_CODE_FIRST = re.compile(r"^(?P<code>\d{5})\s+(?P<name>.+)$")
_CODE_LAST = re.compile(r"^(?P<name>.+?)\s+(?P<code>\d{5})$")


def resolve_commune(session: Session, text: str, field: str = "commune") -> Commune:
    """A commune from "Cahors", "46000 Cahors", "Cahors (46000)", "Cahors 46000" or "46042" (INSEE).

    Raises InvalidInput on ``field`` when nothing, or more than one commune, fits.
    """
    text = " ".join(text.split())
    if not text:
        raise InvalidInput.on(field, "Indiquez une commune.")
    if re.fullmatch(r"\d[\dAB]\d{3}", text.upper()):
        number = text.upper()
        commune = session.get(Commune, number)
        if commune is not None:
            return commune
        by_postcode = session.scalars(sa.select(Commune).where(Commune.postcode == number)).all()
        if len(by_postcode) == 1:
            return by_postcode[0]
        if by_postcode:
            raise InvalidInput.on(field, f"Plusieurs communes ont le code postal {number} : ajoutez le nom.")
        raise InvalidInput.on(field, f"Aucune commune ne correspond au code « {number} ».")
    code: str | None = None
    for pattern in (_LABELLED, _CODE_FIRST, _CODE_LAST):
        if found := pattern.match(text):
            text, code = found["name"], found["code"]
            break
    wanted = fold(text)
    candidates = [c for c in session.scalars(sa.select(Commune)) if fold(c.name) == wanted]
    if code and len(candidates) > 1:
        candidates = [c for c in candidates if code in (c.postcode, c.insee)] or candidates
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        raise InvalidInput.on(
            field,
            f"Plusieurs communes s'appellent « {text} » : précisez le code postal, ex. « 46000 Cahors ».",
        )
    raise InvalidInput.on(field, f"Nous ne connaissons pas la commune « {text} » : vérifiez l'orthographe.")


@dataclass(frozen=True)
class Place:
    """Where a trip starts or ends: a commune, possibly a named place in it."""

    commune: Commune
    named: NamedPlace | None

    @property
    def label(self) -> str:
        return self.named.name if self.named else commune_label(self.commune)

    @property
    def point(self):  # type: ignore[no-untyped-def]
        return self.named.point if self.named else self.commune.point


def named_places(session: Session, association_id: int) -> list[NamedPlace]:
    """The shared registry plus the association's own places."""
    return list(
        session.scalars(
            sa.select(NamedPlace)
            .where(sa.or_(NamedPlace.association_id.is_(None), NamedPlace.association_id == association_id))
            .where(NamedPlace.archived_at.is_(None))
            .order_by(NamedPlace.name)
        )
    )


def own_place_records(session: Session, association_id: int) -> tuple[PlaceRecord, ...]:
    """The association's own active places, as the SMS reader takes them (shared ones it ships)."""
    rows = session.scalars(
        sa.select(NamedPlace)
        .where(NamedPlace.association_id == association_id, NamedPlace.archived_at.is_(None))
        .order_by(NamedPlace.id)
    )
    records = []
    for place in rows:
        lon, lat = lon_lat(place.point)
        records.append(
            PlaceRecord(name=place.name, kind=place.kind, insee=place.commune_insee, lat=lat, lon=lon)
        )
    return tuple(records)


def resolve_place(session: Session, text: str, association_id: int, field: str) -> Place:
    """A named place ("Centre hospitalier de Cahors") by its exact name, otherwise a commune."""
    wanted = fold(text)
    if wanted:
        for place in named_places(session, association_id):
            if fold(place.name) == wanted:
                return Place(session.get_one(Commune, place.commune_insee), place)
    return Place(resolve_commune(session, text, field), None)


# --- autocomplete labels -------------------------------------------------------------------

#: A cached commune list is read again after this long even if its fingerprint did not change,
#: so that a rename which keeps the count and the lengths shows up all the same.
COMMUNE_LABELS_TTL_S = 600.0


@dataclass(frozen=True)
class CommuneLabels:
    """Every commune as the autocomplete shows it ("Cahors (46000)"), by name, with its folded form."""

    fingerprint: tuple[int, int]
    labels: tuple[str, ...]
    folded: tuple[str, ...]
    loaded_at: float


_commune_labels: dict[str, CommuneLabels] = {}
_commune_labels_lock = threading.Lock()


_FINGERPRINT = sa.select(
    sa.func.count(),
    sa.cast(
        sa.func.coalesce(sa.func.sum(sa.func.length(Commune.name) + sa.func.length(Commune.postcode)), 0),
        sa.Integer,
    ),
).select_from(Commune)


def _fingerprint(session: Session) -> tuple[int, int]:
    """Changes when a commune is added, removed, or renamed to a name or postcode of another length.

    Communes only change through ``carpool import-communes`` (another process): this one cheap
    aggregate per call is what lets every worker see it, without a table of versions.
    """
    count, total = session.execute(_FINGERPRINT).one()
    return int(count), int(total)


def commune_labels(session: Session) -> CommuneLabels:
    """The labels of every commune, ordered by name as the database sorts them (one cheap query)."""
    key = session.get_bind().engine.url.render_as_string(hide_password=True)
    fingerprint = _fingerprint(session)
    cached = _commune_labels.get(key)
    if (
        cached is not None
        and cached.fingerprint == fingerprint
        and time.monotonic() - cached.loaded_at < COMMUNE_LABELS_TTL_S
    ):
        return cached
    rows = session.execute(sa.select(Commune.name, Commune.postcode).order_by(Commune.name)).all()
    labels = tuple(_label(name, postcode) for name, postcode in rows)
    fresh = CommuneLabels(fingerprint, labels, tuple(fold(label) for label in labels), time.monotonic())
    with _commune_labels_lock:
        _commune_labels[key] = fresh
    return fresh


def forget_commune_labels() -> None:
    """Drop the cached lists (after an import in this process, or in tests)."""
    with _commune_labels_lock:
        _commune_labels.clear()


_PLACE_NAMES = (
    sa.select(NamedPlace.name)
    .where(
        sa.or_(
            NamedPlace.association_id.is_(None),
            NamedPlace.association_id == sa.bindparam("association_id", type_=sa.Integer),
        )
    )
    .where(NamedPlace.archived_at.is_(None))
    .order_by(NamedPlace.name)
)


def named_place_names(session: Session, association_id: int) -> list[str]:
    """Names of the shared registry and of the association's own places (not archived), by name."""
    return list(session.scalars(_PLACE_NAMES, {"association_id": association_id}))


def place_suggestions(session: Session, association_id: int, query: str = "", limit: int = 0) -> list[str]:
    """Labels for the autocomplete: named places first, then communes ("Cahors (46000)").

    No geometry is read, and the communes' labels come folded from the cache.
    """
    wanted = fold(query)
    places = named_place_names(session, association_id)
    communes = commune_labels(session)
    if not wanted:
        labels = places + list(communes.labels)
        return labels[:limit] if limit else labels
    hits = [(label, folded) for label in places if wanted in (folded := fold(label))]
    hits += [pair for pair in zip(communes.labels, communes.folded, strict=True) if wanted in pair[1]]
    hits.sort(key=lambda pair: (not pair[1].startswith(wanted), pair[1]))
    return [label for label, _folded in (hits[:limit] if limit else hits)]
