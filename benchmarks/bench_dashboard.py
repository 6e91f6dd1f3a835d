"""Server time of every coordinators' page with the demo data ×10 (the issue's ≤ 300 ms bar).

    .venv/bin/python benchmarks/bench_dashboard.py [--scale 10] [--rounds 15] [--database-url URL]

Without ``--database-url``, a fresh SQLite + SpatiaLite file in a temp dir; with a PostgreSQL
URL, a throwaway database is created in that server and dropped at the end. The demo is
seeded ``--scale`` times over (×10: 200 drivers, 600 residents, ~1,800 past rides, ~450 open
requests), an admin logs in, then each page is requested ``--rounds`` times through the WSGI
app (no network, so the figures are the server's own time) after one warm-up request.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

PAGES = (
    ("Aujourd'hui", "/coordination/"),
    ("Sans solution", "/coordination/sans-solution"),
    ("Demande (options, presque possibles)", "/coordination/demandes/{request_id}"),
    ("Demande par téléphone (recherche)", "/coordination/appel?q=martin"),
    ("Habitants", "/coordination/habitants"),
    ("Habitants (recherche)", "/coordination/habitants?q=06 39 98"),
    ("Fiche habitant", "/coordination/habitants/{resident_id}"),
    ("Conducteurs", "/coordination/conducteurs"),
    ("Fiche conducteur", "/coordination/conducteurs/{driver_id}"),
    ("Lieux", "/coordination/lieux"),
    ("Carte (page)", "/coordination/carte"),
    ("Carte (données)", "/coordination/carte.json"),
    ("Chiffres (12 mois)", "/coordination/chiffres"),
    ("Chiffres CSV", "/coordination/chiffres.csv"),
    ("Chiffres XLSX", "/coordination/chiffres.xlsx"),
    ("Journal", "/coordination/journal"),
    ("Réglages", "/coordination/reglages"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url, drop = _database(args.database_url, Path(scratch))
        try:
            print(run(url, args.scale, args.rounds))
        finally:
            drop()


def _database(admin_url: str, scratch: Path):  # type: ignore[no-untyped-def]
    if not admin_url:
        return f"sqlite:///{scratch / 'bench.db'}", lambda: None
    name = f"carpool_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(
        admin_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def run(url: str, scale: int, rounds: int) -> str:
    from carpool import create_app
    from carpool.db import Database
    from carpool.field_encryption import SecretBox
    from carpool.gazetteer import COMMUNES_CSV
    from carpool.migrate import upgrade
    from carpool.models import Driver, Request, RequestStatus, Resident, UserAccount
    from carpool.services import demo, gazetteer

    database = Database(url)
    upgrade(database.engine)
    started = time.perf_counter()
    with database.session() as session:
        gazetteer.import_communes(session, COMMUNES_CSV)
    with database.session() as session:
        demo.seed_demo(session, SecretBox.from_settings("bench"), scale=scale)  # the app's SECRET_KEY
    seeded = time.perf_counter() - started
    with database.session() as session:
        admin = session.scalars(sa.select(UserAccount).where(UserAccount.email == "coord@demo.test")).one()
        lot = admin.association_id  # the demo has a second association: its ids would answer 404
        ids = {
            "request_id": session.scalar(
                sa.select(Request.id)
                .where(Request.status == RequestStatus.OPEN, Request.association_id == lot)
                .limit(1)
            ),
            "resident_id": session.scalar(
                sa.select(Resident.id)
                .where(Resident.association_id == lot)
                .order_by(Resident.id.desc())
                .limit(1)
            ),
            "driver_id": session.scalar(sa.select(Driver.id).where(Driver.association_id == lot).limit(1)),
        }
        now = int(time.time())  # the session's log-in and last use (idle timeout, lifetime)
        cookie = {
            "user_id": admin.id,
            "session_version": admin.session_version,
            "login_at": now,
            "seen_at": now,
        }
        counts = {
            model.__name__: session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Driver, Resident, Request)
        }
    app = create_app({"DATABASE": database, "SECRET_KEY": "bench"})
    client = app.test_client()
    with client.session_transaction() as session_cookie:
        session_cookie.update(cookie)
    lines = [
        f"Demo ×{scale} on {database.dialect}: {counts} (seeded in {seeded:.1f} s), {rounds} rounds per page",
        "",
        "| page | p50 ms | p95 ms | max ms | status |",
        "|---|---:|---:|---:|---|",
    ]
    worst = 0.0
    for label, path in PAGES:
        url_path = path.format(**ids)
        status = client.get(url_path).status_code  # warm-up: caches, the matcher's index
        times = []
        for _ in range(rounds):
            begin = time.perf_counter()
            response = client.get(url_path)
            response.get_data()
            times.append((time.perf_counter() - begin) * 1000)
            status = response.status_code
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        worst = max(worst, p95)
        lines.append(f"| {label} | {statistics.median(times):.0f} | {p95:.0f} | {times[-1]:.0f} | {status} |")
    lines += ["", f"Worst p95: {worst:.0f} ms (target ≤ 300 ms)."]
    database.dispose()
    return "\n".join(lines)


if __name__ == "__main__":
    main()
