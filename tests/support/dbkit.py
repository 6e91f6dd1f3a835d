"""A migrated database holding the gazetteer, for the suite and for tests that need their own."""

from __future__ import annotations

from typing import Protocol

from carpool import migrate
from carpool.db import Database
from carpool.gazetteer import COMMUNES_CSV
from carpool.services.gazetteer import import_communes


class Factory(Protocol):
    def create(self) -> str: ...


def migrated_database(factory: Factory) -> str:
    """A new database from ``factory``, migrated and holding the gazetteer; returns its URL."""
    url = factory.create()
    database = Database(url)
    migrate.upgrade(database.engine)
    with database.session() as session:
        import_communes(session, COMMUNES_CSV)
    database.dispose()
    return url
