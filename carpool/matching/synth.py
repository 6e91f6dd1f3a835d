"""Synthetic but plausible Lot workloads for the benchmark (deterministic per seed).

Drivers: commuters from population-weighted communes to destinations drawn by a
gravity model (population × attractiveness / distance²) where Cahors, Figeac,
Gourdon and Souillac are 5× more attractive; 75 % leave in the morning peak
(around 7:45), 25 % drive home in the evening. Residents: pickups weighted by
population^0.8 (rural residents are the ones without a car); 60 % medical trips
to the hospitals of ``read_places()`` (gravity by distance, Cahors and Figeac
bigger), the rest to markets, town halls, the station or a town centre, mostly
for morning appointments. Everything happens over a 14-day horizon from
2026-12-01 (weekends at 30 % of weekday volume); sizes only change densities.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar

from carpool.clock import PARIS
from carpool.gazetteer import CommuneRecord, read_communes, read_places
from carpool.matching.model import Offer, Point, Request, Slot, Volunteer
from carpool.matching.router import haversine_km

_T = TypeVar("_T", Offer, Request)
START = datetime(2026, 12, 1, tzinfo=PARIS)
HORIZON_DAYS = 14
HUBS = {"46042": 5.0, "46102": 5.0, "46127": 5.0, "46309": 5.0, "46251": 2.0, "46128": 2.0}
HOSPITAL_SIZE = {"46042": 3.0, "46102": 2.0}
SIZES: dict[str, tuple[int, int]] = {
    "S": (100, 100),
    "M": (1_000, 1_000),
    "L": (10_000, 10_000),
    "XL": (100_000, 10_000),
}


@dataclass(frozen=True, slots=True)
class Workload:
    offers: list[Offer]
    volunteers: list[Volunteer]
    requests: list[Request]


def _jitter(rng: random.Random, lon: float, lat: float, km: float) -> Point:
    angle, dist = rng.uniform(0, 2 * math.pi), km * math.sqrt(rng.random())
    dlat = dist * math.sin(angle) / 111.195
    dlon = dist * math.cos(angle) / (111.195 * math.cos(math.radians(lat)))
    return round(lon + dlon, 6), round(lat + dlat, 6)


def _day(rng: random.Random) -> datetime:
    weights = [0.3 if (START + timedelta(days=d)).weekday() >= 5 else 1.0 for d in range(HORIZON_DAYS)]
    return START + timedelta(days=rng.choices(range(HORIZON_DAYS), weights)[0])


def _at(day: datetime, minutes: float) -> datetime:
    """A wall-clock time of that day in Paris (DST-correct)."""
    return datetime(day.year, day.month, day.day, tzinfo=PARIS) + timedelta(minutes=minutes)


class _Geo:
    def __init__(self) -> None:
        self.communes = [c for c in read_communes() if c.insee.startswith("46")]
        self.places = [p for p in read_places() if p.insee.startswith("46")]
        self.pop = [max(c.population, 20) for c in self.communes]
        self.rural = [p**0.8 for p in self.pop]
        self._gravity: dict[str, list[float]] = {}

    def gravity(self, origin: CommuneRecord) -> list[float]:
        if origin.insee not in self._gravity:
            here = (origin.lon, origin.lat)
            self._gravity[origin.insee] = [
                0.0
                if c.insee == origin.insee
                else c.population
                * HUBS.get(c.insee, 1.0)
                / (1 + haversine_km(here, (c.lon, c.lat)) / 10) ** 2
                for c in self.communes
            ]
        return self._gravity[origin.insee]


def _offer(rng: random.Random, geo: _Geo, k: int) -> Offer:
    home = rng.choices(geo.communes, geo.pop)[0]
    work = rng.choices(geo.communes, geo.gravity(home))[0]
    a, b = _jitter(rng, home.lon, home.lat, 1.5), _jitter(rng, work.lon, work.lat, 1.0)
    day = _day(rng)
    if rng.random() < 0.75:
        start = rng.gauss(7 * 60 + 45, 40)
    else:
        a, b = b, a
        start = rng.gauss(17 * 60 + 30, 45)
    width = rng.choice([0, 15, 30, 30, 45, 60])
    earliest = _at(day, max(5 * 60, min(21 * 60, start)))
    return Offer(
        f"o{k}",
        a,
        b,
        earliest,
        earliest + timedelta(minutes=width),
        rng.choices([1, 2, 3, 4], [20, 30, 35, 15])[0],
        rng.choice([None, None, None, 10.0, 15.0, 20.0]),
        frozenset({"wheelchair"}) if rng.random() < 0.05 else frozenset(),
    )


def _request(rng: random.Random, geo: _Geo, k: int) -> Request:
    home = rng.choices(geo.communes, geo.rural)[0]
    p = _jitter(rng, home.lon, home.lat, 1.5)
    medical = rng.random() < 0.6
    if medical:
        hospitals = [x for x in geo.places if x.kind in ("hopital", "clinique")]
        w = [
            HOSPITAL_SIZE.get(h.insee, 1.0) / (1 + haversine_km(p, (h.lon, h.lat)) / 15) ** 2
            for h in hospitals
        ]
        h = rng.choices(hospitals, w)[0]
        d = (h.lon, h.lat)
    elif rng.random() < 0.5:
        others = [x for x in geo.places if x.kind not in ("hopital", "clinique")]
        w = [1 / (1 + haversine_km(p, (x.lon, x.lat)) / 15) ** 2 for x in others]
        x = rng.choices(others, w)[0]
        d = (x.lon, x.lat)
    else:
        town = rng.choices(geo.communes, geo.gravity(home))[0]
        d = _jitter(rng, town.lon, town.lat, 0.8)
    day = _day(rng)
    appt = rng.gauss(10 * 60, 75) if rng.random() < 0.7 else rng.gauss(15 * 60, 60)
    appt = round(max(7 * 60 + 30, min(18 * 60, appt)) / 15) * 15
    ride = haversine_km(p, d) * 1.3 / 50 * 60
    latest = _at(day, appt - 10)
    earliest = latest - timedelta(minutes=ride + rng.choice([30, 45, 60, 90, 120]))
    ret = latest + timedelta(minutes=rng.choice([60, 90, 120])) if medical and rng.random() < 0.5 else None
    return Request(
        f"r{k}",
        p,
        d,
        earliest,
        latest,
        rng.choices([1, 2, 3], [85, 13, 2])[0],
        frozenset({"wheelchair"}) if rng.random() < 0.04 else frozenset(),
        medical,
        ret,
    )


def _volunteer(rng: random.Random, geo: _Geo, k: int) -> Volunteer:
    home = rng.choices(geo.communes, geo.pop)[0]
    days = sorted(rng.sample(range(HORIZON_DAYS), 5))
    slots = []
    for d in days:
        day = START + timedelta(days=d)
        lo, hi = rng.choice([(8 * 60, 12 * 60), (13 * 60, 18 * 60), (8 * 60, 18 * 60)])
        slots.append(Slot(_at(day, lo), _at(day, hi)))
    return Volunteer(
        f"v{k}",
        _jitter(rng, home.lon, home.lat, 1.5),
        rng.choice([15.0, 20.0, 25.0, 30.0]),
        tuple(slots),
        rng.choice([1, 2, 2, 3]),
        rng.choice([3, 4]),
        frozenset({"wheelchair"}) if rng.random() < 0.1 else frozenset(),
    )


def generate(size: str = "S", seed: int = 0, volunteers: int | None = None) -> Workload:
    """Offers, volunteers (default: one per 25 requests, 2..200) and requests."""
    n_offers, n_requests = SIZES[size]
    rng = random.Random(f"{size}:{seed}")
    geo = _Geo()
    n_vol = max(2, min(200, n_requests // 25)) if volunteers is None else volunteers
    offers = [_offer(rng, geo, k) for k in range(n_offers)]
    vols = [_volunteer(rng, geo, k) for k in range(n_vol)]
    reqs = [_request(rng, geo, k) for k in range(n_requests)]
    return Workload(offers, vols, reqs)


def to_json(work: Workload) -> dict[str, object]:
    """The workload in the ``carpool match-file`` input format."""
    iso = datetime.isoformat
    return {
        "params": {"circuity": 1.3, "speed_kmh": 50, "dwell_min": 3},
        "offers": [
            {
                "id": o.id,
                "origin": list(o.origin),
                "destination": list(o.destination),
                "depart_earliest": iso(o.depart_earliest),
                "depart_latest": iso(o.depart_latest),
                "seats": o.seats,
                "max_detour_min": o.max_detour_min,
                "wheelchair": "wheelchair" in o.capabilities,
            }
            for o in work.offers
        ],
        "volunteers": [
            {
                "id": v.id,
                "home": list(v.home),
                "radius_km": v.radius_km,
                "slots": [{"start": iso(s.start), "end": iso(s.end)} for s in v.slots],
                "max_trips": v.max_trips,
                "seats": v.seats,
                "wheelchair": "wheelchair" in v.capabilities,
            }
            for v in work.volunteers
        ],
        "requests": [
            {
                "id": r.id,
                "pickup": list(r.pickup),
                "dropoff": list(r.dropoff),
                "earliest": iso(r.earliest),
                "latest": iso(r.latest),
                "passengers": r.passengers,
                "medical": r.medical,
                "return_time": None if r.return_time is None else iso(r.return_time),
                "needs": sorted(r.needs),
            }
            for r in work.requests
        ],
    }


RETURN_DELAYS_MIN = (60, 90, 90, 120, 150, 180)
"""Appointment length + waiting, from the appointment to the ready-to-leave time."""


def _with_return(rng: random.Random, r: Request, share: float) -> Request:
    if rng.random() >= share:
        return replace(r, return_time=None)
    return replace(r, return_time=r.latest + timedelta(minutes=rng.choice(RETURN_DELAYS_MIN)))


def _way_back(rng: random.Random, o: Offer, k: int) -> Offer:
    """The driver's trip home the same day (drivers who do errands come back at midday too)."""
    mid = rng.random() < 0.4
    at = rng.gauss(12 * 60 + 30, 60) if mid else rng.gauss(17 * 60 + 15, 50)
    day = o.depart_earliest.astimezone(PARIS)
    earliest = _at(day, max(o.depart_earliest.hour * 60 + 60, min(21 * 60, at)))
    width = o.depart_latest - o.depart_earliest
    return replace(
        o,
        id=f"b{k}",
        origin=o.destination,
        destination=o.origin,
        depart_earliest=earliest,
        depart_latest=earliest + width,
    )


def generate_round_trips(
    n_offers: int, n_requests: int, seed: int = 0, share: float = 0.7, days: int = HORIZON_DAYS
) -> Workload:
    """A workload where ``share`` of the requests ask to come home the same day.

    About half of the offers are a morning trip whose driver's way back is a second
    offer (n_offers counts both); ``days`` squeezes everything onto the first days
    of the horizon (1 = an association's daily problem).
    """
    rng = random.Random(f"rt:{n_offers}:{n_requests}:{seed}:{share}:{days}")
    geo = _Geo()
    n_vol = max(2, min(200, n_requests // 25))
    offers: list[Offer] = []
    k = 0
    while len(offers) < n_offers:
        o = _squeeze(_offer(rng, geo, k), days)
        offers.append(o)
        if len(offers) < n_offers and o.depart_earliest.hour < 12 and rng.random() < 0.6:
            offers.append(_way_back(rng, o, k))
        k += 1
    vols = [_squeeze_volunteer(_volunteer(rng, geo, j), days) for j in range(n_vol)]
    reqs = [_with_return(rng, _squeeze(_request(rng, geo, j), days), share) for j in range(n_requests)]
    return Workload(offers, vols, reqs)


def _shift(moment: datetime, days: int) -> timedelta:
    local = moment.astimezone(PARIS)
    day = (local.date() - START.date()).days
    return timedelta(days=day % days - day)


def _squeeze(item: _T, days: int) -> _T:
    """Move an offer or a request to day (its day mod ``days``), same wall-clock times."""
    if days >= HORIZON_DAYS:
        return item
    if isinstance(item, Offer):
        d = _shift(item.depart_earliest, days)
        return replace(
            item,
            depart_earliest=_rewall(item.depart_earliest, d),
            depart_latest=_rewall(item.depart_latest, d),
        )
    assert isinstance(item, Request)
    d = _shift(item.earliest, days)
    return replace(item, earliest=_rewall(item.earliest, d), latest=_rewall(item.latest, d))


def _squeeze_volunteer(v: Volunteer, days: int) -> Volunteer:
    if days >= HORIZON_DAYS:
        return v
    slots = tuple(
        Slot(_rewall(s.start, _shift(s.start, days)), _rewall(s.end, _shift(s.start, days))) for s in v.slots
    )
    return replace(v, slots=tuple(sorted(set(slots), key=lambda s: s.start)))


def _rewall(moment: datetime, by: timedelta) -> datetime:
    """Same wall-clock time ``by`` days earlier in Paris (DST-correct)."""
    local = moment.astimezone(PARIS)
    return (local.replace(tzinfo=None) + by).replace(tzinfo=PARIS)
