"""Migrations build the schema from empty and agree with the models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from carpool import migrate
from carpool.db import Database
from carpool.models import Base


def _diff(database: Database) -> list:
    with database.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "include_name": migrate.include_name,
                "include_object": migrate.include_object,
                "compare_type": True,
                "target_metadata": Base.metadata,
            },
        )
        return compare_metadata(context, Base.metadata)


def test_upgrade_from_empty_builds_every_table(fresh_database_url):
    database = Database(fresh_database_url)
    migrate.upgrade(database.engine)

    tables = set(sa.inspect(database.engine).get_table_names())

    assert set(Base.metadata.tables) <= tables
    assert migrate.current_revision(database.engine) == migrate.head_revision()
    database.dispose()


def test_models_and_migrations_agree(fresh_database_url):
    database = Database(fresh_database_url)
    migrate.upgrade(database.engine)

    assert _diff(database) == [], database.dialect
    database.dispose()


def test_downgrade_to_base_then_upgrade_again(fresh_database_url):
    database = Database(fresh_database_url)
    migrate.upgrade(database.engine)
    migrate.downgrade(database.engine, "base")

    assert not set(Base.metadata.tables) & set(sa.inspect(database.engine).get_table_names())
    migrate.upgrade(database.engine)
    assert migrate.current_revision(database.engine) == migrate.head_revision()
    database.dispose()


def test_upgrade_keeps_existing_rows(fresh_database_url):
    database = Database(fresh_database_url)
    migrate.upgrade(database.engine, "0001")
    with database.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO association (name, rate_per_km, sms_retention_days, "
                "inactive_resident_retention_days, created_at) VALUES ('A', 0.32, 90, 730, "
                "CURRENT_TIMESTAMP)"
            )
        )

    migrate.upgrade(database.engine)

    with database.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT name FROM association")).scalar_one() == "A"
    database.dispose()
