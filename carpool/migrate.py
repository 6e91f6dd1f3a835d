"""Schema migrations (Alembic) driven from code, so ``carpool db upgrade`` needs no ini file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from geoalchemy2 import alembic_helpers
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from carpool.db import POSTGIS_INSTALL, first_line, is_spatial_internal, unreachable
from carpool.errors import StartupError

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def include_name(name: str | None, type_: str, _parent: dict[str, Any]) -> bool:
    """Leave SpatiaLite's and PostGIS's own tables alone."""
    return not (type_ == "table" and name is not None and is_spatial_internal(name))


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if type_ == "table" and name is not None and is_spatial_internal(name):
        return False
    return bool(alembic_helpers.include_object(obj, name, type_, reflected, compare_to))


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def prepare(engine: Engine) -> None:
    """PostGIS must exist before the first table; creating it needs a privileged role."""
    if engine.dialect.name != "postgresql":
        return
    try:
        conn = engine.connect()
    except DBAPIError as exc:
        raise unreachable(engine, exc) from None
    try:
        with conn.begin():
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
    except DBAPIError as exc:
        raise StartupError(
            f"PostGIS ne peut pas être activé ({first_line(exc)}) : installez « {POSTGIS_INSTALL} » "
            "ou demandez à un administrateur d'exécuter CREATE EXTENSION postgis; dans la base."
        ) from None
    finally:
        conn.close()


def upgrade(engine: Engine, revision: str = "head") -> None:
    prepare(engine)
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config(sa.create_engine("sqlite://"))).get_current_head()


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a new revision (developers only)."""
    command.revision(alembic_config(engine), message=message, autogenerate=True)
