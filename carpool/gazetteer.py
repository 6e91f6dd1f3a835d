"""The commune gazetteer shipped with the package, read as plain data.

Framework-free on purpose: the importer, the matcher's benchmark and the SMS
parser all read the same files through these functions. See
``carpool/data/SOURCES.md`` for the producers and the licence.
"""

from __future__ import annotations

import csv
import gzip
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
COMMUNES_CSV = DATA_DIR / "communes.csv"
POSTCODES_CSV = DATA_DIR / "postcodes.csv"
PLACES_CSV = DATA_DIR / "places.csv"
# Every current commune of France that has a position, and the départements' neighbours.
NATIONAL_CSV = DATA_DIR / "communes-fr.csv.gz"
NEIGHBOURS_CSV = DATA_DIR / "departements-fr.csv"
# What ``carpool setup`` imports by default: the demo association's départements.
DEMO_DEPARTEMENTS = ("46", "95")

ATTRIBUTION = (
    "Communes : INSEE, Code officiel géographique 2026 et populations légales ; "
    "codes postaux : La Poste ; positions des mairies : DILA ; contours : IGN "
    "ADMIN EXPRESS COG. Licence Ouverte 2.0 (Etalab)."
)

_INSEE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
_POSTCODE = re.compile(r"^\d{5}$")


def departement_of(insee: str) -> str:
    """The département code of an INSEE commune code ("23096" → "23", "97411" → "974"; the
    overseas collectivities likewise: "98735" → "987")."""
    return insee[:3] if insee.startswith(("97", "98")) else insee[:2]


@dataclass(frozen=True, slots=True)
class CommuneRecord:
    insee: str
    name: str
    postcode: str
    lat: float
    lon: float
    population: int
    postcodes: tuple[str, ...] = ()

    @property
    def departement(self) -> str:
        return departement_of(self.insee)


@dataclass(frozen=True, slots=True)
class PlaceRecord:
    """A named destination (hospital, market, town hall) inside a commune."""

    name: str
    kind: str
    insee: str
    lat: float
    lon: float


class GazetteerError(ValueError):
    """A malformed row: says which file, which line and why."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        self.path, self.line, self.reason = path, line, reason
        super().__init__(f"{path.name}, ligne {line} : {reason}")


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        if path.suffix == ".gz":
            handle = gzip.open(path, "rt", newline="", encoding="utf-8")  # noqa: SIM115 (closed by the with below)
        else:
            handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise GazetteerError(path, 0, f"fichier illisible ({exc.strerror})") from None
    with handle:
        reader = csv.DictReader(handle)
        try:
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
        except UnicodeDecodeError:
            raise GazetteerError(path, 1, "encodage invalide (UTF-8 attendu)") from None
        if missing:
            raise GazetteerError(path, 1, f"colonnes manquantes : {', '.join(missing)}")
        try:
            for row in reader:
                if None in row or any(row.get(c) is None for c in columns):
                    raise GazetteerError(path, reader.line_num, "nombre de colonnes incorrect")
                yield reader.line_num, {k: v.strip() for k, v in row.items() if k}
        except UnicodeDecodeError:
            raise GazetteerError(path, reader.line_num + 1, "encodage invalide") from None
        except (OSError, EOFError):
            raise GazetteerError(path, reader.line_num + 1, "fichier compressé illisible") from None
        except csv.Error as exc:
            raise GazetteerError(path, reader.line_num, f"CSV invalide ({exc})") from None


def _number(path: Path, line: int, row: dict[str, str], column: str, low: float, high: float) -> float:
    try:
        value = float(row[column])
    except ValueError:
        raise GazetteerError(path, line, f"{column} n'est pas un nombre : {row[column]!r}") from None
    if not low <= value <= high:
        raise GazetteerError(path, line, f"{column} hors limites : {value}")
    return value


def read_communes(
    path: Path = COMMUNES_CSV, departements: Collection[str] | None = None
) -> list[CommuneRecord]:
    """Read and validate every row (of ``departements`` only, if given); the first bad row raises.

    Reads the demo's ``communes.csv`` and the national ``communes-fr.csv.gz``,
    whose ``postcodes`` column lists every postcode of the commune.
    """
    communes: list[CommuneRecord] = []
    seen: set[str] = set()
    columns = ("insee", "name", "postcode", "lat", "lon", "population")
    for line, row in _rows(path, columns):
        insee = row["insee"]
        if departements is not None and departement_of(insee) not in departements:
            continue
        if not _INSEE.match(insee):
            raise GazetteerError(path, line, f"code INSEE invalide : {insee!r}")
        if insee in seen:
            raise GazetteerError(path, line, f"code INSEE en double : {insee}")
        if not row["name"]:
            raise GazetteerError(path, line, "nom vide")
        if not _POSTCODE.match(row["postcode"]):
            raise GazetteerError(path, line, f"code postal invalide : {row['postcode']!r}")
        population = _number(path, line, row, "population", 0, 1e8)
        if population != int(population):
            raise GazetteerError(path, line, f"population non entière : {row['population']!r}")
        seen.add(insee)
        communes.append(
            CommuneRecord(
                insee=insee,
                name=row["name"],
                postcode=row["postcode"],
                lat=_number(path, line, row, "lat", -90, 90),
                lon=_number(path, line, row, "lon", -180, 180),
                population=int(population),
                postcodes=tuple(row.get("postcodes", "").split()) or (row["postcode"],),
            )
        )
    if not communes and departements is None:
        raise GazetteerError(path, 1, "aucune commune")
    return communes


def read_neighbours(path: Path = NEIGHBOURS_CSV) -> dict[str, tuple[str, ...]]:
    """Each département of the national gazetteer → the départements it borders."""
    return {
        row["departement"]: tuple(row["neighbours"].split())
        for _, row in _rows(path, ("departement", "neighbours"))
    }


def read_postcodes(path: Path = POSTCODES_CSV) -> dict[str, list[str]]:
    """Every postcode of each commune (a few communes have several)."""
    codes: dict[str, list[str]] = {}
    for line, row in _rows(path, ("insee", "postcode")):
        if not _INSEE.match(row["insee"]) or not _POSTCODE.match(row["postcode"]):
            raise GazetteerError(path, line, "code INSEE ou code postal invalide")
        codes.setdefault(row["insee"], []).append(row["postcode"])
    return codes


def read_places(path: Path = PLACES_CSV) -> list[PlaceRecord]:
    """The named places shipped as a starting registry (coordinators edit them)."""
    places: list[PlaceRecord] = []
    for line, row in _rows(path, ("name", "kind", "insee", "lat", "lon")):
        if not row["name"] or not _INSEE.match(row["insee"]):
            raise GazetteerError(path, line, "nom vide ou code INSEE invalide")
        places.append(
            PlaceRecord(
                name=row["name"],
                kind=row["kind"],
                insee=row["insee"],
                lat=_number(path, line, row, "lat", -90, 90),
                lon=_number(path, line, row, "lon", -180, 180),
            )
        )
    return places
