"""The re-optimisation job against per-request matching, in the database, on the demo data and on
synthetic association days.

    .venv/bin/python benchmarks/bench_reoptimise.py [--scale 1 10] [--synthetic 120x60 200x120]
        [--seeds 3] [--database-url URL]

Each case gets a fresh database (SQLite + SpatiaLite in a temp dir, or a throwaway
PostgreSQL database) with the communes, then either ``carpool seed-demo`` (×scale; its open
requests of the next 14 days) or a synthetic workload of ``OFFERSxREQUESTS`` over two days
(``matching.synth.generate_round_trips``: 70 % round trips, drivers' ways back, one volunteer
per 25 requests with weekly slots) written as rows. Then, on the same open requests:

* per request: in the order they were asked, each takes the first option the SMS
  conversation would offer (``round_trip_options``) and books it as a resident's OUI
  would (seats taken, volunteers' trips counted), so later requests see what is left;
* together: ``matching.batch_round_trips``, the joint matcher the job runs;
* the job itself: ``carpool jobs run reoptimise`` (dry run, rolled back), timed whole.

Served means a whole trip: both legs of a round trip. Both runs are rolled back.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dashboard import _database

from carpool.clock import PARIS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, nargs="*", default=[1, 10])
    parser.add_argument("--synthetic", nargs="*", default=["120x60", "200x120"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    cases = [(f"demo ×{scale}", _demo(scale)) for scale in args.scale]
    for size in args.synthetic:
        offers, requests = (int(n) for n in size.split("x"))
        cases += [
            (f"synthetic {size} seed {seed}", _synthetic(offers, requests, seed))
            for seed in range(args.seeds)
        ]
    print(
        "| data | backend | open requests (pax) | per request: served (pax) | together: served (pax) |"
        " more people | batch solve ms | job run s |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for label, load in cases:
        with tempfile.TemporaryDirectory() as scratch:
            url, drop = _database(args.database_url, Path(scratch))
            try:
                print(run(url, label, load), flush=True)
            finally:
                drop()


def run(url: str, label: str, load) -> str:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from carpool import jobs
    from carpool.config import Settings
    from carpool.db import Database
    from carpool.gazetteer import COMMUNES_CSV
    from carpool.migrate import upgrade
    from carpool.models import Association, Leg, Request
    from carpool.services import gazetteer, matching, proposals

    database = Database(url)
    upgrade(database.engine)
    with database.session() as session:
        gazetteer.import_communes(session, COMMUNES_CSV)
    with database.session() as session:
        clock, days = load(session)
    with database.sessionmaker() as session:
        association_id = session.scalar(sa.select(Association.id).order_by(Association.id).limit(1))
        assert association_id is not None
        asked = proposals._reoptimisable(session, association_id, clock.now(), days, Leg.OUT)
        ids = [r.id for r in asked]
        pax_of = {r.id: r.passengers for r in asked}
        one_by_one = _per_request(session, ids, clock)
        session.rollback()

        matching.forget_indexes()
        requests = [session.get_one(Request, i) for i in ids]
        from ortools.sat.python import cp_model  # noqa: F401 - its import (~1 s) is not the solve

        started = time.perf_counter()
        plan = matching.batch_round_trips(session, association_id, requests, clock)
        solve_ms = (time.perf_counter() - started) * 1000
        together = [
            i for i, trip in plan.trips.items() if proposals._whole(session.get_one(Request, i), trip)
        ]
        session.rollback()
    started = time.perf_counter()
    outcome = jobs.run_job(
        database, "reoptimise", clock, settings=Settings(reoptimise_days=days), dry_run=True
    )
    job_s = time.perf_counter() - started
    assert outcome.ok, outcome.result
    database.dispose()
    people = sum(pax_of.values())
    served_one = sum(pax_of[i] for i in one_by_one)
    served_all = sum(pax_of[i] for i in together)
    more = f"{served_all - served_one:+d} ({(served_all / served_one - 1) * 100 if served_one else 0:+.0f} %)"
    return (
        f"| {label} | {database.dialect} | {len(ids)} ({people}) | {len(one_by_one)} ({served_one}) |"
        f" {len(together)} ({served_all}) | {more} | {solve_ms:.0f} | {job_s:.2f} |"
    )


def _per_request(session, ids: list[int], clock) -> list[int]:  # type: ignore[no-untyped-def]
    """Each request in turn takes the first whole-trip option left, as a resident's OUI would."""
    from carpool.models import Request
    from carpool.services import booking_flow, bookings, matching

    served = []
    for request_id in sorted(ids):  # the order they were asked in
        matching.forget_indexes()  # volunteers' trips left change with each booking
        request = session.get_one(Request, request_id)
        options = matching.round_trip_options(session, request, clock, limit=1)
        if not options:
            continue
        try:
            with session.begin_nested():
                booking_flow.book_round_trip(session, request, options[0], actor="bench", clock=clock)
        except bookings.BookingError:
            continue
        served.append(request_id)
    return served


def _demo(scale: int):  # type: ignore[no-untyped-def]
    def load(session):  # type: ignore[no-untyped-def]
        from carpool.clock import Clock
        from carpool.field_encryption import SecretBox
        from carpool.services import demo

        clock = Clock()
        demo.seed_demo(session, SecretBox.from_settings("bench"), scale=scale, clock=clock)
        return clock, 14

    return load


def _synthetic(n_offers: int, n_requests: int, seed: int):  # type: ignore[no-untyped-def]
    """The workload as rows: a driver per offer, a driver with weekly slots per volunteer, a
    resident per request; communes are the nearest ones. "Now" is the evening before."""

    def load(session):  # type: ignore[no-untyped-def]
        from carpool.clock import FrozenClock
        from carpool.db import point
        from carpool.gazetteer import read_communes
        from carpool.matching.router import haversine_km
        from carpool.matching.synth import START, generate_round_trips
        from carpool.models import (
            Association,
            AvailabilitySlot,
            Driver,
            Offer,
            Purpose,
            Request,
            RequestSource,
            Resident,
            VettingStatus,
        )

        communes = [c for c in read_communes() if c.insee.startswith("46")]

        def near(where: tuple[float, float]) -> str:
            return min(communes, key=lambda c: haversine_km(where, (c.lon, c.lat))).insee

        work = generate_round_trips(n_offers, n_requests, seed=seed, days=2)
        association = Association(name="Bench", sms_number="06 39 98 00 00")
        session.add(association)
        session.flush()
        phones = iter(range(10**6))

        def driver(home: tuple[float, float], **fields) -> Driver:  # type: ignore[no-untyped-def]
            n = next(phones)
            row = Driver(
                association_id=association.id,
                first_name="Alex",
                last_name="Bench",
                email=f"d{n}@bench.test",
                phone=f"+33639{n:06d}",
                home_commune_insee=near(home),
                home_point=point(*home),
                vetting=VettingStatus.VETTED,
                **fields,
            )
            session.add(row)
            return row

        for o in work.offers:
            row = driver(o.origin, wheelchair_accessible="wheelchair" in o.capabilities)
            session.flush()
            session.add(
                Offer(
                    driver_id=row.id,
                    origin_commune_insee=near(o.origin),
                    origin_point=point(*o.origin),
                    destination_commune_insee=near(o.destination),
                    destination_point=point(*o.destination),
                    depart_earliest=o.depart_earliest,
                    depart_latest=o.depart_latest,
                    seats_total=o.seats,
                    seats_left=o.seats,
                    max_detour_min=int(o.max_detour_min or 20),
                )
            )
        for v in work.volunteers:
            row = driver(
                v.home,
                radius_km=int(v.radius_km),
                max_trips_per_week=v.max_trips,
                seats=v.seats,
                wheelchair_accessible="wheelchair" in v.capabilities,
            )
            session.flush()
            for slot in v.slots:
                start, end = slot.start.astimezone(PARIS), slot.end.astimezone(PARIS)
                session.add(
                    AvailabilitySlot(
                        driver_id=row.id, weekday=start.weekday(), starts_at=start.time(), ends_at=end.time()
                    )
                )
        for r in work.requests:
            n = next(phones)
            resident = Resident(
                association_id=association.id,
                phone=f"+33638{n:06d}",
                first_name="Jeanne",
                last_name="Bench",
                home_commune_insee=near(r.pickup),
                home_point=point(*r.pickup),
                uses_wheelchair="wheelchair" in r.needs,
            )
            session.add(resident)
            session.flush()
            session.add(
                Request(
                    association_id=association.id,
                    resident_id=resident.id,
                    pickup_commune_insee=near(r.pickup),
                    pickup_point=point(*r.pickup),
                    dropoff_commune_insee=near(r.dropoff),
                    dropoff_point=point(*r.dropoff),
                    earliest=r.earliest,
                    latest=r.latest,
                    return_at=r.return_time,
                    return_latest=r.return_latest,
                    passengers=r.passengers,
                    purpose=Purpose.MEDICAL if r.medical else Purpose.OTHER,
                    source=RequestSource.PHONE,
                )
            )
        session.flush()
        return FrozenClock(START - timedelta(hours=4, minutes=30)), 3

    return load


if __name__ == "__main__":
    main()
