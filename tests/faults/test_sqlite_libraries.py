"""One SQLite library per process: pysqlite3's (the app's), never the standard library's beside it.

File locks are per process and each copy of SQLite tracks its own: a second library on the same
file does not see the first one's locks, and when it closes its last connection it checkpoints
and deletes ``-wal``/``-shm`` under the app's open connections (commits lost, "disk I/O error").
The scheduler kill test's observer did exactly that and the test saw one SMS sent twice
(docs/reliability.md). Every engine on a SQLite file now comes from ``carpool.db.make_engine``,
observers included (``read_only=True``), and anything else is refused at its first connection.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap

import pytest
import sqlalchemy as sa

from carpool.db import make_engine
from carpool.errors import StartupError

SQLITE_ONLY = pytest.mark.skipif(
    os.environ.get("CARPOOL_TEST_BACKEND", "sqlite") != "sqlite", reason="SQLite files only"
)


@pytest.fixture
def sqlite_file(tmp_path):  # type: ignore[no-untyped-def]
    """A SQLite file written by the app's engine: a table ``t`` with one row."""
    url = f"sqlite:///{tmp_path / 'app.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
        conn.execute(sa.text("INSERT INTO t VALUES (1)"))
    yield url
    engine.dispose()


@SQLITE_ONLY
def test_a_plain_sqlalchemy_engine_on_a_sqlite_file_is_refused(sqlite_file):
    engine = sa.create_engine(sqlite_file)  # the standard library's sqlite3

    with pytest.raises(StartupError, match="autre bibliothèque SQLite"):
        engine.connect()
    engine.dispose()


@SQLITE_ONLY
def test_the_standard_sqlite3_module_cannot_open_a_file_of_the_test_session(tmp_path):
    with pytest.raises(RuntimeError, match=r"stdlib sqlite3 on .*raw\.db"):
        sqlite3.connect(tmp_path / "raw.db")
    with pytest.raises(RuntimeError, match=r"stdlib sqlite3 on .*raw\.db"):
        sqlite3.connect(f"file:{tmp_path / 'raw.db'}?mode=ro", uri=True)

    assert not (tmp_path / "raw.db").exists()


@SQLITE_ONLY
def test_the_standard_sqlite3_module_still_works_in_memory():
    conn = sqlite3.connect(":memory:")

    assert conn.execute("SELECT 1 + 1").fetchone() == (2,)
    conn.close()


@SQLITE_ONLY
def test_a_read_only_engine_reads_without_waiting_for_a_writer(sqlite_file):
    writer = make_engine(sqlite_file)
    observer = make_engine(sqlite_file, read_only=True)
    with writer.connect() as busy:
        busy.execute(sa.text("INSERT INTO t VALUES (2)"))  # BEGIN IMMEDIATE: the write lock, held
        with observer.connect() as conn:
            seen = conn.execute(sa.text("SELECT count(*) FROM t")).scalar_one()
        busy.rollback()
    writer.dispose()
    observer.dispose()

    assert seen == 1


@SQLITE_ONLY
def test_a_read_only_engine_cannot_write_a_sqlite_file(sqlite_file):
    observer = make_engine(sqlite_file, read_only=True)
    with observer.connect() as conn, pytest.raises(sa.exc.OperationalError, match="readonly"):
        conn.execute(sa.text("INSERT INTO t VALUES (2)"))
    observer.dispose()

    app = make_engine(sqlite_file)
    with app.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar_one() == 1
    app.dispose()


@pytest.mark.postgresql
def test_a_read_only_engine_cannot_write_a_postgresql_database(database_url):
    observer = make_engine(database_url, read_only=True)
    with observer.connect() as conn, pytest.raises(sa.exc.DBAPIError, match="read-only transaction"):
        conn.execute(sa.text("CREATE TABLE read_only_probe (x integer)"))
    observer.dispose()


@SQLITE_ONLY
def test_the_app_refuses_a_second_sqlite_library_in_its_process_without_the_test_guard(sqlite_file):
    """The app's own check (make_engine installs it), in a process that never loaded conftest."""
    script = textwrap.dedent(
        f"""
        import sys
        import sqlalchemy as sa
        from carpool.errors import StartupError
        from carpool.db import Database
        app = Database({sqlite_file!r})
        with app.session() as session:
            session.execute(sa.text("INSERT INTO t VALUES (2)"))
        try:
            sa.create_engine({sqlite_file!r}).connect()
        except StartupError as exc:
            sys.exit(str(exc))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"La base {sqlite_file.removeprefix('sqlite:///')} est ouverte avec une autre bibliothèque "
        "SQLite (sqlite3) que celle de l'application : passez par carpool.db.make_engine."
    ]
