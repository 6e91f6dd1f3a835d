"""Shared fixtures: a real migrated database per backend, the app, its client and CLI runner.

The backend comes from ``CARPOOL_TEST_BACKEND`` (``sqlite`` or ``postgresql``);
``scripts/test-all.sh`` runs the suite once for each. On PostgreSQL each run
creates its own database on ``TEST_POSTGRES_URL`` and drops it at the end.
Tests that touch no database run only in the SQLite pass: a second run would
test nothing new.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

os.environ.setdefault("CARPOOL_INSTANCE_PATH", tempfile.mkdtemp(prefix="carpool-test-instance-"))

from support.factories import add_association
from support.fake_twilio import FakeTwilio

from carpool.clock import FrozenClock
from carpool.db import Database, guard_sqlite_library
from carpool.models import Base

# One SQLite library per process, from the first test on (docs/reliability.md): an engine on a
# SQLite file made anywhere but carpool.db.make_engine is refused at its first connection.
guard_sqlite_library()

BACKEND = os.environ.get("CARPOOL_TEST_BACKEND", "sqlite")
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REFERENCE_TABLES = {"commune", "named_place"}
DB_FIXTURES = {"database_url", "fresh_database_url", "database_factory"}


def pytest_report_header() -> str:
    return f"carpool backend: {BACKEND}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each pass runs what it can test: PostgreSQL-only tests and database-free tests are sorted out."""
    keep, drop = [], []
    for item in items:
        if BACKEND == "sqlite":
            wanted = item.get_closest_marker("postgresql") is None
        else:
            wanted = bool(DB_FIXTURES & set(getattr(item, "fixturenames", ())))
        (keep if wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


class DatabaseFactory:
    """Creates empty databases on the backend under test and removes them afterwards."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.created: list[str] = []

    def create(self) -> str:
        name = f"carpool_test_{uuid.uuid4().hex[:12]}"
        if BACKEND == "sqlite":
            return f"sqlite:///{self.workdir / name}.db"
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.created.append(name)
        return sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self.created:
            return
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.created:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _sqlite_path(database: object) -> Path | None:
    """The file a ``sqlite3.connect`` argument names (plain path or ``file:`` URI), if any."""
    from urllib.parse import unquote

    name = os.fspath(database) if isinstance(database, str | os.PathLike) else ""
    if isinstance(name, str) and name.startswith("file:"):
        name = unquote(name.removeprefix("file:").split("?", 1)[0])
    if not isinstance(name, str) or name in ("", ":memory:"):
        return None
    return Path(name).resolve()


class OtherSqliteLibrary(RuntimeError):
    """The standard library's sqlite3 opened a file of this test session (see stdlib_sqlite_guard)."""


@pytest.fixture(scope="session", autouse=True)
def stdlib_sqlite_guard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The standard library's ``sqlite3.connect`` may not open the session's database files.

    The app's SQLite is pysqlite3's; a second library in this process would delete the WAL
    under the app's connections. Other files (a tool's own cache) are left alone.
    """
    import sqlite3

    from carpool.db import _sqlite_module

    if _sqlite_module() is sqlite3:  # a Python whose sqlite3 is the app's library: nothing to guard
        yield
        return
    guarded = [
        Path(tmp_path_factory.getbasetemp()).resolve(),
        Path(os.environ["CARPOOL_INSTANCE_PATH"]).resolve(),
    ]
    original = sqlite3.connect

    def connect(database, *args, **kwargs):  # type: ignore[no-untyped-def]
        path = _sqlite_path(database)
        if path and any(path.is_relative_to(root) for root in guarded):
            raise OtherSqliteLibrary(f"stdlib sqlite3 on {path}: use carpool.db.make_engine")
        return original(database, *args, **kwargs)

    sqlite3.connect = connect
    yield
    sqlite3.connect = original


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    yield factory
    factory.drop_all()


@pytest.fixture
def fresh_database_url(database_factory: DatabaseFactory) -> str:
    """An empty database (no schema), for migration and start-up tests."""
    return database_factory.create()


@pytest.fixture(scope="session")
def database_url(database_factory: DatabaseFactory) -> str:
    """The suite's database: migrated and holding the gazetteer."""
    from support.dbkit import migrated_database

    return migrated_database(database_factory)


@pytest.fixture(scope="session")
def _shared_database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def db(_shared_database: Database) -> Iterator[Database]:
    """The migrated database; every row a test adds (outside the gazetteer) is removed after it.

    The matcher's in-memory indexes (one per database URL and association) are dropped too:
    ids are reused from one test to the next.
    """
    from carpool.services import matching

    matching.forget_indexes()
    yield _shared_database
    matching.forget_indexes()
    with _shared_database.session() as session:
        # Dependents first. Places of an association go after the trips to them and before the
        # association; the shared registry (no association) stays.
        for table in reversed(Base.metadata.sorted_tables):
            if table.name == "named_place":
                session.execute(table.delete().where(table.c.association_id.is_not(None)))
            elif table.name not in REFERENCE_TABLES:
                session.execute(table.delete())


@pytest.fixture
def session(db: Database) -> Iterator[sa.orm.Session]:
    with db.sessionmaker() as session:
        yield session


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    """Twilio's Messages API on 127.0.0.1, for the real twilio client to talk to."""
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def association(session: sa.orm.Session):  # type: ignore[no-untyped-def]
    """The Lot's association (support.factories.add_association), committed: the app, other
    sessions and spawned processes see it. A test wanting another one builds it the same way."""
    association = add_association(session)
    session.commit()
    return association


@pytest.fixture
def app(db: Database, clock: FrozenClock):  # type: ignore[no-untyped-def]
    from carpool import create_app

    app = create_app({"TESTING": True, "DATABASE": db, "CLOCK": clock, "SECRET_KEY": "test"})
    yield app


@pytest.fixture
def no_csrf(app):  # type: ignore[no-untyped-def]
    """Forms posted without their CSRF token (tests of what the form does, not of the token)."""
    app.config["WTF_CSRF_ENABLED"] = False
    return app


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


@pytest.fixture
def runner(app):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


@pytest.fixture
def live_server(app):  # type: ignore[no-untyped-def]
    """The app served on 127.0.0.1 in a thread, for browser tests."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


ARTIFACTS = Path(__file__).resolve().parent.parent / "test-results"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    """Debian's chromium driven by Playwright (Playwright's own download is not available here)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="fr-FR", timezone_id="Europe/Paris")
    page = context.new_page()
    yield page
    context.close()


AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def axe_violations():  # type: ignore[no-untyped-def]
    """Runs axe-core (from npm, see package.json) on a page: WCAG 2.1 A and AA rules."""

    def run(page) -> list[dict]:  # type: ignore[no-untyped-def]
        page.evaluate(AXE.read_text())  # not add_script_tag: the CSP forbids inline scripts
        return page.evaluate(
            "async () => (await axe.run(document, "
            "{runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']})).violations"
        )

    return run


@pytest.fixture
def screenshot():  # type: ignore[no-untyped-def]
    """Saves a full-page screenshot under test-results/ (kept as a CI artefact)."""

    def take(page, name: str) -> Path:  # type: ignore[no-untyped-def]
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def _carpool_children() -> list[int]:
    """PIDs of `carpool …` processes this test session started that are still alive (Linux /proc)."""
    me, found = str(os.getpid()), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        parent = next((line.split()[1] for line in status.splitlines() if line.startswith("PPid:")), "")
        if parent == me and b"carpool" in cmdline and b"pytest" not in cmdline:
            found.append(int(entry.name))
    return found


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Before any fixture is torn down: a test that failed half-way must not leave dispatchers
    or schedulers running (they would hold the database for the tests that follow)."""
    import signal

    for pid in _carpool_children():
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
