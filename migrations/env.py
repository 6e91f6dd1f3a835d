"""Alembic environment: runs against the engine handed over by ``carpool.migrate``."""

from __future__ import annotations

from alembic import context
from geoalchemy2 import alembic_helpers

from carpool.migrate import include_name, include_object
from carpool.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes["engine"]
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            # Batch migrations copy tables; foreign keys must be off while they do
            # (PRAGMA is ignored inside a transaction, so it goes straight to the driver).
            connection.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_name=include_name,
            include_object=include_object,
            process_revision_directives=alembic_helpers.writer,
            render_item=alembic_helpers.render_item,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        if connection.dialect.name == "sqlite":
            connection.connection.driver_connection.execute("PRAGMA foreign_keys = ON")


run_migrations_online()
