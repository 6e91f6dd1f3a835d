"""PostgreSQL restarts under load: errors only while it is down, then none, and no half booking.

A throwaway cluster of our own (the shared server on 5432 is never touched) is
stopped with ``pg_ctl stop -m fast`` while threads browse the drivers' pages, accept
passengers through the web and book seats through the booking service; it comes back
a couple of seconds later. ``pool_pre_ping`` must replace the dead connections by
itself: once one request has succeeded again, no request started after it may fail.
"""

from __future__ import annotations

import glob
import itertools
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from support.dbkit import migrated_database
from support.drivers_kit import log_in
from support.factories import add_association, add_driver_account, add_offer, add_request

from carpool.app import MESSAGES
from carpool.clock import Clock
from carpool.db import Database
from carpool.models import SEAT_HOLDING, Driver, Match, Offer, Request, RequestStatus, Resident
from carpool.services.bookings import BookingError, propose

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "throwaway-postgis.sh"
BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
WARM_UP, DOWN_FOR, AFTER = 2.0, 2.0, 3.0  # seconds
OFFERS, SEATS = 40, 8
PAUSE = 0.01  # between a thread's requests: two shared cores


@dataclass
class Cluster:
    directory: Path
    url: str

    def run(self, *args: str) -> None:
        command = " ".join([f"{BINS[-1]}/pg_ctl", "-D", str(self.directory / "data"), *args])
        subprocess.run(["su", "postgres", "-s", "/bin/bash", "-c", command], check=True, capture_output=True)

    def stop(self) -> None:
        self.run("-m", "fast", "-w", "stop")

    def start(self) -> None:
        port = sa.make_url(self.url).port
        options = f"-p {port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run("-w", "-l", str(self.directory / "server.log"), "-o", f"'{options}'", "start")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if not BINS or not all(os.access(f"{BINS[-1]}/{tool}", os.X_OK) for tool in ("initdb", "pg_ctl")):
        pytest.skip("initdb/pg_ctl absent: apt-get install postgresql-15-postgis-3")
    if os.geteuid() != 0 or shutil.which("su") is None:
        pytest.skip("a throwaway cluster needs root (initdb runs as the postgres user)")
    directory = Path(tempfile.mkdtemp(prefix="carpool-pg-restart-"))
    started = subprocess.run(
        [str(SCRIPT), "start", str(directory)], capture_output=True, text=True, check=True, timeout=60
    )
    try:
        yield Cluster(directory, started.stdout.strip())
    finally:
        subprocess.run([str(SCRIPT), "stop", str(directory)], check=False, timeout=60)


class OneDatabase:
    """dbkit's factory protocol, for the cluster's own ``carpool`` database."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url

    def create(self) -> str:
        admin = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text('CREATE DATABASE "carpool"'))
        admin.dispose()
        return sa.make_url(self.admin_url).set(database="carpool").render_as_string(hide_password=False)


@dataclass(frozen=True)
class Outcome:
    kind: str
    started: float
    finished: float
    ok: bool
    detail: str


class Load:
    """Threads that repeat one action each and record every outcome with its start time."""

    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def add(self, kind: str, action: Callable[[], tuple[bool, str]]) -> None:
        def loop() -> None:
            while not self.stop.is_set():
                started = time.monotonic()
                try:
                    ok, detail = action()
                except Exception as exc:  # an escaped exception is a failure too, never a hang
                    ok, detail = False, f"{type(exc).__name__}: {exc}"[:200]
                with self._lock:
                    self.outcomes.append(Outcome(kind, started, time.monotonic(), ok, detail))
                time.sleep(PAUSE)

        self._threads.append(threading.Thread(target=loop, daemon=True))

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


def page_check(response) -> tuple[bool, str]:  # type: ignore[no-untyped-def]
    """A page is fine, or an outage page that says so in French without leaking internals."""
    text = response.get_data(as_text=True)
    if response.status_code < 400:
        return True, str(response.status_code)
    clear = (
        response.status_code == 503
        and (MESSAGES[503][:40] in text or '"unreachable"' in text)
        and "Traceback" not in text
        and "psycopg" not in text
    )
    return False, f"{response.status_code} {'clear' if clear else 'UNCLEAR: ' + text[-200:]}"


@pytest.mark.postgresql
@pytest.mark.slow
@pytest.mark.usefixtures("fresh_database_url")  # what keeps a test in the PostgreSQL pass (conftest)
def test_a_restart_under_load_heals_itself_without_a_500_storm_or_half_bookings(cluster, clock):
    url = migrated_database(OneDatabase(cluster.url))
    bookings_db = Database(url)
    with bookings_db.sessionmaker() as session:
        association = add_association(session)
        user = add_driver_account(session, association, clock)
        driver = session.get_one(Driver, user.driver_id)
        offers = [add_offer(session, driver, seats=SEATS).id for _ in range(OFFERS)]
        session.commit()
        association_id, driver_id = association.id, user.driver_id

    from carpool import create_app

    app = create_app({"DATABASE_URL": url, "CLOCK": clock, "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False})
    proposed: queue.Queue[int] = queue.Queue()
    committed: list[int] = []
    phones = itertools.count()

    def browse(path: str) -> Callable[[], tuple[bool, str]]:
        client = app.test_client()
        log_in(client, user)
        return lambda: page_check(client.get(path))

    def accept() -> tuple[bool, str]:
        try:
            match_id = proposed.get(timeout=0.2)
        except queue.Empty:
            return True, "idle"
        response = accepting.post(f"/conducteurs/passagers/{match_id}/accepter")
        if response.status_code >= 400:
            proposed.put(match_id)  # try again later
        return page_check(response)

    def book() -> tuple[bool, str]:
        try:
            with bookings_db.session() as session:
                request = add_request(session, _Association(association_id))
                session.execute(
                    sa.update(Resident)
                    .where(Resident.id == request.resident_id)
                    .values(phone=f"+3363997{next(phones):04d}")
                )
                match = propose(
                    session,
                    request,
                    driver_id=driver_id,
                    offer_id=offers[request.id % OFFERS],
                    pickup_at=request.earliest,
                    dropoff_at=request.latest,
                    detour_min=5.0,
                    actor="test",
                    clock=Clock(),
                )
                match_id = match.id
        except BookingError:
            return True, "full"
        except sa.exc.DBAPIError as exc:
            return False, type(exc.orig).__name__
        committed.append(match_id)
        proposed.put(match_id)
        return True, "booked"

    accepting = app.test_client()
    log_in(accepting, user)
    load = Load()
    for kind, action in [
        ("healthz", browse("/healthz")),
        ("page", browse("/conducteurs/")),
        ("page", browse("/conducteurs/")),
        ("accept", accept),
        ("book", book),
        ("book", book),
    ]:
        load.add(kind, action)

    with load:
        time.sleep(WARM_UP)
        down = time.monotonic()
        cluster.stop()
        time.sleep(DOWN_FOR)
        cluster.start()
        up = time.monotonic()
        time.sleep(AFTER)

    outcomes = sorted(load.outcomes, key=lambda o: o.started)
    before = [o for o in outcomes if o.finished < down]
    recovered = next(o.started for o in outcomes if o.started >= up and o.ok)
    during = [o for o in outcomes if o.finished >= down and o.started < recovered]
    after = [o for o in outcomes if o.started > recovered]
    failures_during = Counter(f"{o.kind} {o.detail}" for o in during if not o.ok)
    storm = [o for o in after if not o.ok]
    booked_after = sum(o.detail == "booked" for o in after)
    holes = seat_holes(bookings_db)
    missing = missing_matches(bookings_db, committed)
    print(
        f"\n[postgres restart] requests={len(outcomes)} kinds={dict(Counter(o.kind for o in outcomes))} "
        f"errors before={sum(not o.ok for o in before)} during outage={sum(failures_during.values())} "
        f"{dict(failures_during)} recovered {recovered - up:.2f} s after start "
        f"({recovered - down:.2f} s after stop), errors after recovery={len(storm)}, "
        f"bookings committed={len(committed)} ({booked_after} after recovery) lost={len(missing)} "
        f"seat mismatches={holes}"
    )
    assert [o for o in before if not o.ok] == []
    assert not [k for k in failures_during if "UNCLEAR" in k]
    assert storm == [], storm[:5]
    assert (missing, holes) == ([], {})
    assert booked_after > 0
    bookings_db.dispose()
    app.extensions["carpool.db"].dispose()


class _Association:
    """Just the id the request builder needs."""

    def __init__(self, association_id: int) -> None:
        self.id = association_id


def seat_holes(database: Database) -> dict[int, tuple[int, int, int]]:
    """Offers whose free seats plus held seats are not their total; requests and matches agree."""
    with database.session() as session:
        held = dict(
            session.execute(
                sa.select(Match.offer_id, sa.func.sum(Match.seats))
                .where(Match.status.in_(SEAT_HOLDING))
                .group_by(Match.offer_id)
            ).all()
        )
        holes = {
            offer.id: (offer.seats_left, held.get(offer.id, 0), offer.seats_total)
            for offer in session.scalars(sa.select(Offer))
            if offer.seats_left + held.get(offer.id, 0) != offer.seats_total
        }
        matched = session.scalar(
            sa.select(sa.func.count()).select_from(Request).where(Request.status == RequestStatus.MATCHED)
        )
        holding = session.scalar(
            sa.select(sa.func.count()).select_from(Match).where(Match.status.in_(SEAT_HOLDING))
        )
        if matched != holding:
            holes[-1] = (int(matched or 0), int(holding or 0), -1)
    return holes


def missing_matches(database: Database, committed: list[int]) -> list[int]:
    with database.session() as session:
        found = set(session.scalars(sa.select(Match.id).where(Match.id.in_(committed or [0]))))
    return sorted(set(committed) - found)
