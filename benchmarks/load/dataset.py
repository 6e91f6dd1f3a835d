"""A département-scale dataset for the load benchmark, written with bulk inserts.

10k residents, 1k drivers (vetted, a third with weekly slots), 10k open offers over the
next 14 days, open requests, six months of past rides and the coming week's bookings, in
two associations on the one instance: the Lot (70 % of the people) and the Val-d'Oise (30 %),
each with its own SMS number and admin; driver log-ins and API tokens in both. The ORM's one-object-at-a-time
path would take minutes for this; Core ``insert()`` with lists of dicts takes seconds.
Every account shares one Argon2 hash (hashing 1k passwords would take about a minute).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from carpool.clock import PARIS

PASSWORD = "bench-load-1234"  # noqa: S105 - throwaway database, dropped after the run
COORDINATOR_EMAIL = "coord@load.test"
#: The associations, by the département of their people: name, SMS number, admin, road speed.
ASSOCIATIONS = {
    "46": ("Covoiturage solidaire du Lot (charge)", "06 39 98 00 00", COORDINATOR_EMAIL, 50),
    "95": ("Entraide mobilité Val-d'Oise (charge)", "06 39 98 00 95", "coord95@load.test", 25),
}
#: The admin's second factor (admins must have one); the load generator computes its codes.
COORDINATOR_TOTP_SECRET = "LOADTESTADMINTOTPSECRETLOADTEST2"  # noqa: S105 - benchmark data
HORIZON_DAYS = 14
#: Hubs where people go (hospital towns), per département: Lot and Val-d'Oise.
HUBS = {"46": ("46042", "46102", "46127", "46251", "46128"), "95": ("95018", "95500", "95127")}
FIRST = ("Jeanne", "Marie", "Simone", "Odette", "Raymond", "Marcel", "André", "Roger", "Pierre", "Claude")
LAST = ("Delpech", "Lacoste", "Vidal", "Lafon", "Cayla", "Delmas", "Roques", "Marty", "Couderc", "Martin")


@dataclass
class Fixture:
    """What the load generator needs to know about the dataset (written as JSON)."""

    password: str
    coordinator_email: str
    coordinator_totp_secret: str = COORDINATOR_TOTP_SECRET
    #: One admin per association (the same password and second-factor key).
    coordinator_emails: list[str] = field(default_factory=list)
    drivers: list[dict[str, Any]] = field(default_factory=list)  # email, api token, own offer ids
    residents: list[dict[str, Any]] = field(default_factory=list)  # phone, département, number to text
    resident_names: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def create_database(admin_url: str) -> tuple[str, Engine]:
    """A throwaway ``carpool_load_<random>`` database on the server of ``admin_url``."""
    name = f"carpool_load_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(
        admin_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        # As docs/deploy.md recommends: the JIT compiles short OLTP queries for longer than they run.
        conn.execute(sa.text(f'ALTER DATABASE "{name}" SET jit = off'))
    return admin_url.rsplit("/", 1)[0] + f"/{name}", admin


def drop_database(admin: Engine, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _wkt(lon: float, lat: float) -> str:
    return f"SRID=4326;POINT({lon:.6f} {lat:.6f})"


def _jitter(rng: random.Random, lon: float, lat: float, km: float = 1.5) -> str:
    """A home somewhere in the commune, not all on the town hall."""
    return _wkt(lon + rng.uniform(-km, km) / 78, lat + rng.uniform(-km, km) / 111)


def _local(day: datetime, hour: int, minute: int) -> datetime:
    return datetime.combine(day.date(), time(hour, minute), tzinfo=PARIS)


def populate(
    url: str, *, residents: int = 10_000, drivers: int = 1_000, offers: int = 10_000, seed: int = 46
) -> Fixture:
    """Migrate, import communes, then bulk-insert the dataset; returns the fixture."""
    from carpool.db import Database
    from carpool.gazetteer import COMMUNES_CSV
    from carpool.migrate import upgrade
    from carpool.services import gazetteer

    database = Database(url)
    upgrade(database.engine)
    with database.session() as session:
        gazetteer.import_communes(session, COMMUNES_CSV)
    try:
        with database.engine.begin() as conn:
            fixture = _bulk(conn, random.Random(seed), residents, drivers, offers)
        _accounts(database, fixture)
        # A live database has planner statistics; right after a bulk load it has none, and the
        # matcher's "offers changed since" query then took ~260 ms instead of ~1 ms.
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))
    finally:
        database.dispose()
    return fixture


def _bulk(conn: sa.Connection, rng: random.Random, n_res: int, n_drv: int, n_off: int) -> Fixture:
    from carpool.models import Association, Commune, NamedPlace

    communes = {
        insee: (lon, lat, pop)
        for insee, lon, lat, pop in conn.execute(
            sa.select(
                Commune.insee, sa.func.ST_X(Commune.point), sa.func.ST_Y(Commune.point), Commune.population
            )
        )
    }
    places = [
        (pid, insee, kind, lon, lat)
        for pid, insee, kind, lon, lat in conn.execute(
            sa.select(
                NamedPlace.id,
                NamedPlace.commune_insee,
                NamedPlace.kind,
                sa.func.ST_X(NamedPlace.point),
                sa.func.ST_Y(NamedPlace.point),
            )
        )
    ]
    association_of = {
        dept: conn.execute(
            sa.insert(Association).returning(Association.id),
            {"name": name, "sms_number": sms, "departements": dept, "road_speed_kmh": speed},
        ).scalar_one()
        for dept, (name, sms, _admin, speed) in ASSOCIATIONS.items()
    }
    # Lot residents weigh more than their population: that is where solidarity transport is.
    by_dept = {d: [i for i in communes if i.startswith(d)] for d in HUBS}
    weights = {d: [communes[i][2] ** 0.8 for i in by_dept[d]] for d in HUBS}
    now = datetime.now(UTC)
    fixture = Fixture(PASSWORD, COORDINATOR_EMAIL, coordinator_emails=[a[2] for a in ASSOCIATIONS.values()])
    driver_rows = _drivers(conn, rng, association_of, communes, by_dept, weights, n_drv)
    resident_rows = _residents(conn, rng, association_of, communes, by_dept, weights, n_res)
    offer_rows = _offers(conn, rng, driver_rows, communes, places, now, n_off)
    _slots(conn, rng, driver_rows)
    n_req, n_match = _requests_and_rides(
        conn, rng, resident_rows, driver_rows, offer_rows, communes, places, now
    )
    for table in ("driver", "resident", "offer", "ride_request", "ride_match", "user_account"):
        conn.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        )
    own: dict[int, list[int]] = {}
    for row in offer_rows:
        own.setdefault(row["driver_id"], []).append(row["id"])
    fixture.drivers = [
        {
            "id": d["id"],
            "email": d["email"],
            "association_id": d["association_id"],
            "offers": own.get(d["id"], [])[:20],
        }
        for d in driver_rows[:200]
    ]
    fixture.residents = [
        {
            "phone": r["phone"],
            "dept": r["home_commune_insee"][:2],
            "to": "+33" + ASSOCIATIONS[r["home_commune_insee"][:2]][1].replace(" ", "")[1:],
        }
        for r in resident_rows
    ]
    fixture.resident_names = sorted({r["last_name"] for r in resident_rows})
    fixture.counts = {
        "residents": len(resident_rows),
        "drivers": len(driver_rows),
        "offers": len(offer_rows),
        "requests": n_req,
        "matches": n_match,
        **{f"association_{dept}": association_id for dept, association_id in association_of.items()},
    }
    return fixture


def _home_commune(rng, n, communes, by_dept, weights):  # type: ignore[no-untyped-def]
    """Person ``n``'s commune: 70 % in the Lot, 30 % in the Val-d'Oise, weighted by population."""
    dept = "46" if n % 10 < 7 else "95"
    insee = rng.choices(by_dept[dept], weights[dept])[0]
    lon, lat, _pop = communes[insee]
    return insee, lon, lat


def _drivers(conn, rng, association_of, communes, by_dept, weights, count):  # type: ignore[no-untyped-def]
    from carpool.models import Driver, VettingStatus

    rows = []
    for n in range(count):
        insee, lon, lat = _home_commune(rng, n, communes, by_dept, weights)
        rows.append(
            {
                "id": n + 1,
                "association_id": association_of[insee[:2]],
                "first_name": rng.choice(FIRST),
                "last_name": rng.choice(LAST),
                "email": f"conducteur{n:04d}@load.test",
                "phone": f"+3363998{n:04d}",
                "home_commune_insee": insee,
                "home_point": _jitter(rng, lon, lat),
                "seats": rng.choice((2, 3, 3, 4)),
                "wheelchair_accessible": n % 9 == 4,
                "vetting": VettingStatus.VETTED,
                "vetted_at": datetime.now(UTC),
                "radius_km": rng.choice((15, 20, 30)),
                "max_trips_per_week": rng.choice((2, 3, 5)),
                "vetting_note": "",
            }
        )
    conn.execute(sa.insert(Driver), rows)
    return rows


def _residents(conn, rng, association_of, communes, by_dept, weights, count):  # type: ignore[no-untyped-def]
    from carpool.models import Resident

    rows = []
    for n in range(count):
        insee, lon, lat = _home_commune(rng, n, communes, by_dept, weights)
        rows.append(
            {
                "id": n + 1,
                "association_id": association_of[insee[:2]],
                "phone": f"+3363997{n:04d}",
                "first_name": rng.choice(FIRST),
                "last_name": f"{rng.choice(LAST)}{n % 97:02d}",
                "home_commune_insee": insee,
                "home_point": _jitter(rng, lon, lat),
                "uses_wheelchair": n % 15 == 4,
                "uses_walker": n % 5 == 1,
                "needs_help_boarding": n % 4 == 2,
                "consent_at": datetime.now(UTC),
                "notes": "",
            }
        )
    conn.execute(sa.insert(Resident), rows)
    return rows


def _destination(rng, dept, communes, places, kinds=("hopital", "clinique", "marche", "mairie")):  # type: ignore[no-untyped-def]
    fitting = [p for p in places if p[1].startswith(dept) and p[2] in kinds]
    if fitting and rng.random() < 0.75:
        pid, insee, _kind, lon, lat = rng.choice(fitting)
        return insee, _wkt(lon, lat), pid
    insee = rng.choice(HUBS[dept])
    return insee, _wkt(*communes[insee][:2]), None


def _offers(conn, rng, drivers, communes, places, now, count):  # type: ignore[no-untyped-def]
    from carpool.models import OfferStatus

    rows = []
    today = now.astimezone(PARIS)
    while len(rows) < count:
        driver = drivers[len(rows) % len(drivers)]
        dept = driver["home_commune_insee"][:2]
        insee, point, pid = _destination(rng, dept, communes, places)
        if insee == driver["home_commune_insee"]:
            continue
        day = today + timedelta(days=rng.randint(1, HORIZON_DAYS))
        start = _local(day, rng.choice((7, 8, 8, 9, 9, 10, 13, 14, 17)), rng.choice((0, 15, 30, 45)))
        seats = driver["seats"]
        # Offered days or weeks ago, as in real life (the matcher re-reads recent changes).
        created = now - timedelta(days=rng.uniform(0.5, 20))
        rows.append(
            {
                "id": len(rows) + 1,
                "driver_id": driver["id"],
                "origin_commune_insee": driver["home_commune_insee"],
                "origin_point": driver["home_point"],
                "destination_commune_insee": insee,
                "destination_point": point,
                "destination_place_id": pid,
                "depart_earliest": start,
                "depart_latest": start + timedelta(minutes=rng.choice((15, 30, 45, 60))),
                "seats_total": seats,
                "seats_left": seats,
                "max_detour_min": rng.choice((10, 15, 20, 25)),
                "status": OfferStatus.OPEN,
                "comment": "",
                "created_at": created,
                "updated_at": created,
            }
        )
    return rows  # inserted with the bookings, once their seats are taken


def _slots(conn, rng, drivers) -> None:  # type: ignore[no-untyped-def]
    from carpool.models import AvailabilitySlot

    rows = []
    for driver in drivers[::3]:
        for weekday in rng.sample(range(5), rng.randint(1, 3)):
            start = rng.choice((time(8), time(9), time(13, 30)))
            rows.append(
                {
                    "driver_id": driver["id"],
                    "weekday": weekday,
                    "starts_at": start,
                    "ends_at": time(start.hour + 4, start.minute),
                }
            )
    conn.execute(sa.insert(AvailabilitySlot), rows)


def _requests_and_rides(conn, rng, residents, drivers, offers, communes, places, now):  # type: ignore[no-untyped-def]
    """Open requests ahead, six months of past rides, and the coming week's bookings (some on offers).

    Each ride's driver and resident belong to the same association, as the request does.
    """
    from carpool.models import Match, MatchStatus, Offer, Purpose, Request, RequestSource, RequestStatus

    requests, matches = [], []
    today = now.astimezone(PARIS)
    purposes = (Purpose.MEDICAL,) * 6 + (Purpose.SHOPPING, Purpose.ADMINISTRATION, Purpose.SOCIAL)
    drivers_of: dict[int, list[int]] = {}
    for driver in drivers:
        drivers_of.setdefault(driver["association_id"], []).append(driver["id"])
    residents_of: dict[int, list[dict[str, Any]]] = {}
    for resident in residents:
        residents_of.setdefault(resident["association_id"], []).append(resident)
    association_of_driver = {d["id"]: d["association_id"] for d in drivers}

    def same_side(req):  # type: ignore[no-untyped-def]
        return rng.choice(drivers_of[req["association_id"]])

    def request(resident, day, status, reason=None):  # type: ignore[no-untyped-def]
        dept = resident["home_commune_insee"][:2]
        insee, point, pid = _destination(rng, dept, communes, places)
        appointment = _local(day, rng.choice((8, 9, 10, 11, 14, 15)), rng.choice((0, 15, 30)))
        row = {
            "id": len(requests) + 1,
            "association_id": resident["association_id"],
            "resident_id": resident["id"],
            "pickup_commune_insee": resident["home_commune_insee"],
            "pickup_point": resident["home_point"],
            "dropoff_commune_insee": insee,
            "dropoff_point": point,
            "dropoff_place_id": pid,
            "earliest": appointment - timedelta(minutes=90),
            "latest": appointment,
            "return_at": None,
            "passengers": 1,
            "purpose": rng.choice(purposes),
            "source": RequestSource.SMS if rng.random() < 0.7 else RequestSource.PHONE,
            "status": status,
            "unmatched_reason": reason,
            "note": "",
            "created_at": min(now, appointment - timedelta(days=rng.randint(2, 6))),
        }
        requests.append(row)
        return row

    def ride(req, driver_id, status, offer=None):  # type: ignore[no-untyped-def]
        dropoff = req["latest"] - timedelta(minutes=10)
        confirmed = req["created_at"] + timedelta(hours=rng.randint(1, 30))
        matches.append(
            {
                "request_id": req["id"],
                "driver_id": driver_id,
                "offer_id": offer["id"] if offer else None,
                "seats": 1,
                "pickup_at": dropoff - timedelta(minutes=rng.randint(20, 45)),
                "dropoff_at": dropoff,
                "detour_min": round(rng.uniform(3, 40), 1),
                "status": status,
                "status_changed_at": confirmed,
                "confirmed_at": confirmed if status is not MatchStatus.PROPOSED else None,
                "created_at": req["created_at"],
            }
        )

    for _ in range(400):  # open, over the coming two weeks (15–60 requests a day is département scale)
        request(
            rng.choice(residents), today + timedelta(days=rng.randint(1, HORIZON_DAYS)), RequestStatus.OPEN
        )
    for _ in range(3_000):  # six months of history
        req = request(rng.choice(residents), today - timedelta(days=rng.randint(1, 180)), RequestStatus.DONE)
        if rng.random() < 0.82:
            ride(req, same_side(req), MatchStatus.COMPLETED)
        else:
            req["status"] = RequestStatus.EXPIRED
            req["unmatched_reason"] = rng.choice(
                ("no_offer_in_time_window", "outside_volunteer_radius", "detour_too_long")
            )
    # The coming week: bookings on the logged-in drivers' offers (seats taken), and volunteer trips.
    soon = [o for o in offers[:2_000] if o["depart_earliest"] < now + timedelta(days=7)]
    for offer in soon[:300]:
        resident = rng.choice(residents_of[association_of_driver[offer["driver_id"]]])
        req = request(resident, offer["depart_earliest"].astimezone(PARIS), RequestStatus.MATCHED)
        offer["seats_left"] -= 1
        offer["updated_at"] = max(offer["updated_at"], req["created_at"])
        ride(
            req,
            offer["driver_id"],
            rng.choice((MatchStatus.CONFIRMED, MatchStatus.ACCEPTED, MatchStatus.PROPOSED)),
            offer,
        )
    for _ in range(200):
        req = request(rng.choice(residents), today + timedelta(days=rng.randint(0, 6)), RequestStatus.MATCHED)
        ride(req, same_side(req), MatchStatus.CONFIRMED)
    conn.execute(sa.insert(Offer), offers)
    conn.execute(sa.insert(Request), requests)
    conn.execute(sa.insert(Match), matches)
    return len(requests), len(matches)


def _accounts(database: Any, fixture: Fixture) -> None:
    """An admin per association, and a log-in plus an API token for the first 200 drivers (one hash)."""
    from carpool.clock import Clock
    from carpool.models import Role, UserAccount
    from carpool.services.accounts import create_api_token, hash_password

    shared = hash_password(PASSWORD)
    rows: list[dict[str, Any]] = [
        {
            "email": admin,
            "password_hash": shared,
            "role": Role.ADMIN,
            "association_id": fixture.counts[f"association_{dept}"],
            "sees_health_data": True,
            "totp_secret": COORDINATOR_TOTP_SECRET,
        }
        for dept, (_name, _sms, admin, _speed) in ASSOCIATIONS.items()
    ]
    rows += [
        {
            "email": d["email"],
            "password_hash": shared,
            "role": Role.DRIVER,
            "association_id": d["association_id"],
            "driver_id": d["id"],
        }
        for d in fixture.drivers
    ]
    with database.session() as session:
        session.execute(sa.insert(UserAccount), rows)
        users = {
            u.driver_id: u
            for u in session.scalars(sa.select(UserAccount).where(UserAccount.driver_id.is_not(None)))
        }
        for driver in fixture.drivers:
            _token, secret = create_api_token(session, users[driver["id"]], "charge", Clock())
            driver["token"] = secret
