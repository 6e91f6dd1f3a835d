"""Engine, sessions and every SpatiaLite/PostGIS difference, in one place.

Both backends are first-class: SQLite + SpatiaLite is the embedded default,
PostgreSQL + PostGIS is production. Queries elsewhere use the helpers here
(``distance_m``, ``point``) instead of dialect-specific SQL.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from geoalchemy2 import Geometry, WKBElement
from geoalchemy2.admin.dialects.sqlite import init_spatialite
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from carpool.errors import StartupError

SRID = 4326
SPATIALITE_INSTALL = "apt-get install libsqlite3-mod-spatialite"
POSTGIS_INSTALL = "apt-get install postgresql-15-postgis-3"

#: SpatiaLite's and PostGIS's own tables, which migrations must never touch.
SPATIAL_INTERNAL_PREFIXES = (
    "geometry_columns",
    "spatial_ref_sys",
    "spatialite_history",
    "sqlite_",
    "views_geometry_columns",
    "virts_geometry_columns",
    "idx_",
    "spatialindex",
    "elementarygeometries",
    "knn",
    "data_licenses",
    "sql_statements_log",
    "vector_layers",
    "gpkg_",
    "vgpkg_",
)


def is_spatial_internal(table_name: str) -> bool:
    return table_name.lower().startswith(SPATIAL_INTERNAL_PREFIXES)


def point_type() -> Geometry:
    """Column type for a WGS84 point (lon, lat), spatially indexed on both backends."""
    return Geometry("POINT", srid=SRID, spatial_index=True)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, whatever the backend stores."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: attach a time zone before storing it")
        value = value.astimezone(UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def point(lon: float, lat: float) -> WKBElement:
    """A storable WGS84 point."""
    return from_shape(Point(lon, lat), srid=SRID)


def lon_lat(geom: WKBElement) -> tuple[float, float]:
    shape = to_shape(geom)
    return (shape.x, shape.y)


def distance_m(dialect_name: str, a: Any, b: Any) -> sa.ColumnElement[float]:
    """Ellipsoidal distance in metres between two geometries, same answer on both backends."""
    if dialect_name == "postgresql":
        return sa.func.ST_Distance(sa.cast(a, _geography()), sa.cast(b, _geography()))
    return sa.func.ST_Distance(a, b, 1)


def sphere_distance_m(dialect_name: str, a: Any, b: Any) -> sa.ColumnElement[float]:
    """Great-circle distance in metres (within 0.5 % of the ellipsoid), several times cheaper:
    for sums over thousands of trips (the funders' kilometres), not for single answers."""
    if dialect_name == "postgresql":
        return sa.func.ST_DistanceSphere(a, b)
    return sa.func.ST_Distance(a, b, 0)


def hours_between(dialect_name: str, start: Any, end: Any) -> sa.ColumnElement[Any]:
    """Hours from ``start`` to ``end`` (stored UTC datetimes), computed by the database."""
    if dialect_name == "postgresql":
        return sa.extract("epoch", end - start) / 3600.0
    return (sa.func.julianday(end) - sa.func.julianday(start)) * 24.0


def least(dialect_name: str, a: Any, b: Any) -> sa.ColumnElement[Any]:
    """The smaller of two values: LEAST on PostgreSQL, two-argument MIN on SQLite."""
    return sa.func.least(a, b) if dialect_name == "postgresql" else sa.func.min(a, b)


def insert_or_ignore(dialect_name: str, entity: Any, unique: str | list[str]) -> Any:
    """``INSERT … ON CONFLICT (unique) DO NOTHING`` for both backends: one statement, no savepoint,
    where a check-then-insert needs three and a race still ends at the unique index."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    return insert(entity).on_conflict_do_nothing(
        index_elements=[unique] if isinstance(unique, str) else unique
    )


def dialect_of(session: Session) -> str:
    return session.get_bind().dialect.name


def _geography() -> Any:
    from geoalchemy2 import Geography

    return Geography("POINT", srid=SRID)


# --- engines -----------------------------------------------------------------


@functools.cache
def _sqlite_module() -> Any:
    """A DBAPI module able to load extensions (the pyenv Python's sqlite3 cannot)."""
    try:
        import pysqlite3.dbapi2 as module
    except ImportError:
        import sqlite3 as module

        if not hasattr(module.connect(":memory:"), "enable_load_extension"):
            raise StartupError(
                "Ce Python ne peut pas charger SpatiaLite : installez le paquet pip pysqlite3-binary "
                "(make run le fait) ou utilisez le Python de Debian."
            ) from None
    return module


def _spatialite_path() -> str:
    return os.environ.get("SPATIALITE_LIBRARY_PATH", "mod_spatialite")


def _load_spatialite(dbapi_conn: Any) -> None:
    dbapi_conn.enable_load_extension(True)
    try:
        dbapi_conn.load_extension(_spatialite_path())
    except Exception as exc:
        raise StartupError(
            f"SpatiaLite est introuvable ({exc}) : installez-le avec « {SPATIALITE_INSTALL} » "
            "ou indiquez le chemin du module dans SPATIALITE_LIBRARY_PATH."
        ) from None
    finally:
        dbapi_conn.enable_load_extension(False)


def _on_sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # isolation_level None hands transaction control to the "begin" listener below.
    dbapi_conn.isolation_level = None
    dbapi_conn.execute("PRAGMA busy_timeout = 30000")
    dbapi_conn.execute("PRAGMA foreign_keys = ON")
    dbapi_conn.execute("PRAGMA journal_mode = WAL")
    _load_spatialite(dbapi_conn)
    # One transaction for the whole metadata: 9 s becomes 0.04 s (see NOTES.md).
    init_spatialite(dbapi_conn, transaction=True, init_mode="WGS84")


def _on_sqlite_begin(conn: sa.Connection) -> None:
    # Every transaction takes the write lock up front: a read-then-write can then
    # never fail half-way with SQLITE_BUSY, and bookings cannot interleave.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _on_read_only_connect(dbapi_conn: Any, _record: Any) -> None:
    # The file is opened with mode=ro: no WAL switch, no SpatiaLite metadata to create.
    dbapi_conn.isolation_level = None
    dbapi_conn.execute("PRAGMA busy_timeout = 30000")
    _load_spatialite(dbapi_conn)


def _on_read_only_begin(conn: sa.Connection) -> None:
    # A deferred transaction: one consistent snapshot, and never the writers' lock.
    conn.exec_driver_sql("BEGIN")


def _sqlite_file(dbapi_conn: Any) -> str:
    """The file behind a SQLite DBAPI connection ("" for an in-memory or temporary database)."""
    for _seq, name, path in dbapi_conn.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return str(path or "")
    return ""


def _refuse_other_sqlite_library(dbapi_conn: Any, _record: Any) -> None:
    """One SQLite library per process: file locks are per process, and two copies of SQLite
    (pysqlite3's and the standard library's) do not see each other's. Closing the second one
    checkpoints and deletes ``-wal``/``-shm`` under the first one's connections, and commits
    are lost (docs/reliability.md). Any engine, ours or not, goes through this check."""
    if "sqlite" not in type(dbapi_conn).__module__:
        return
    if isinstance(dbapi_conn, _sqlite_module().Connection):
        return
    path = _sqlite_file(dbapi_conn)
    if path:
        dbapi_conn.close()
        raise StartupError(
            f"La base {path} est ouverte avec une autre bibliothèque SQLite ({type(dbapi_conn).__module__}) "
            "que celle de l'application : passez par carpool.db.make_engine."
        )


def guard_sqlite_library() -> None:
    """Refuse, in this whole process, any SQLite file opened with another library than ours."""
    if not event.contains(Engine, "connect", _refuse_other_sqlite_library):
        event.listen(Engine, "connect", _refuse_other_sqlite_library)


def normalise_url(url: str) -> sa.URL:
    """Parse DATABASE_URL, choosing our drivers for the two supported backends."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StartupError(
            f"DATABASE_URL n'est pas une adresse valide ({url!r}) : "
            "attendu sqlite:///chemin/fichier.db ou postgresql://utilisateur@hôte/base."
        ) from None
    backend = parsed.get_backend_name()
    if backend in {"postgres", "postgresql"}:
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise StartupError("DATABASE_URL SQLite doit nommer un fichier (sqlite:///chemin/carpool.db).")
        return parsed.set(drivername="sqlite")
    raise StartupError(f"DATABASE_URL doit être une base sqlite:/// ou postgresql:// (reçu : {backend}).")


def make_engine(url: str, *, read_only: bool = False, **kwargs: Any) -> Engine:
    """Create the engine for DATABASE_URL; raises StartupError with a clear sentence.

    Every engine on a SQLite file must come from here (one SQLite library per process, see
    ``guard_sqlite_library``). ``read_only`` is for observers (tests, reports): they can
    neither write nor take SQLite's write lock.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        guard_sqlite_library()
        if read_only:
            return _read_only_sqlite_engine(parsed, **kwargs)
        if parsed.database:
            os.makedirs(os.path.dirname(os.path.abspath(parsed.database)), exist_ok=True)
        engine = sa.create_engine(parsed, module=_sqlite_module(), **kwargs)
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    if read_only:
        kwargs.setdefault("connect_args", {"options": "-c default_transaction_read_only=on"})
    return sa.create_engine(parsed, pool_pre_ping=True, **kwargs)


def _read_only_sqlite_engine(parsed: sa.URL, **kwargs: Any) -> Engine:
    # SQLite's URI form opens the file read-only: a writer of this connection is refused by
    # SQLite itself, and closing it never checkpoints nor deletes the WAL.
    path = quote(os.path.abspath(str(parsed.database)))
    uri = parsed.set(database=f"file:{path}", query={"mode": "ro", "uri": "true"})
    engine = sa.create_engine(uri, module=_sqlite_module(), **kwargs)
    event.listen(engine, "connect", _on_read_only_connect)
    event.listen(engine, "begin", _on_read_only_begin)
    return engine


def check_database(engine: Engine) -> str:
    """Connect once and verify the spatial extension; returns its version."""
    safe_url = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                return str(conn.execute(sa.text("SELECT spatialite_version()")).scalar_one())
            try:
                return str(conn.execute(sa.text("SELECT postgis_lib_version()")).scalar_one())
            except DBAPIError:
                raise StartupError(
                    f"PostGIS n'est pas activé dans la base {safe_url} : installez-le "
                    f"(« {POSTGIS_INSTALL} ») puis exécutez CREATE EXTENSION postgis; dans la base."
                ) from None
    except StartupError:
        raise
    except DBAPIError as exc:
        raise unreachable(engine, exc) from None


def first_line(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__


def unreachable(engine: Engine, exc: DBAPIError) -> StartupError:
    safe_url = engine.url.render_as_string(hide_password=True)
    return StartupError(
        f"Impossible d'ouvrir la base {safe_url} ({first_line(exc)}) : vérifiez DATABASE_URL et le serveur."
    )


class Database:
    """The engine and session factory of one app (or one CLI run)."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.engine = make_engine(url, **engine_kwargs)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        with self.sessionmaker() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
