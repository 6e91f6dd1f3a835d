"""Importing chosen départements of the national gazetteer: idempotent, strict about codes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from carpool.db import Database
from carpool.errors import InvalidInput
from carpool.models import AuditEvent, Commune
from carpool.services.gazetteer import commune_or_import, departement_codes, import_departements
from carpool.services.places import UnknownCommune


@pytest.fixture(scope="module")
def own_database(database_factory) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    """A database of its own: the suite's shared one must keep only the demo's communes."""
    from support.dbkit import migrated_database

    database = Database(migrated_database(database_factory))
    yield database
    database.dispose()


def _count(database: Database, departement: str) -> int:
    with database.session() as session:
        return int(
            session.scalar(sa.select(sa.func.count()).where(Commune.insee.like(f"{departement}%"))) or 0
        )


def test_importing_the_creuse_adds_its_communes_then_changes_nothing(own_database):
    with own_database.session() as session:
        first = import_departements(session, ["23"])
    with own_database.session() as session:
        second = import_departements(session, ["23"])

    assert (first.created, first.updated) == (_count(own_database, "23"), 0)
    assert first.created > 250
    assert (second.created, second.updated, second.unchanged) == (0, 0, first.created)


def test_aubusson_of_the_creuse_is_stored_with_its_point(own_database):
    with own_database.session() as session:
        import_departements(session, ["23"])
        aubusson = session.get(Commune, "23008")

        assert aubusson is not None
        assert (aubusson.name, aubusson.postcode, aubusson.departement) == ("Aubusson", "23200", "23")


def test_overseas_and_corsican_codes_are_understood(own_database):
    with own_database.session() as session:
        report = import_departements(session, ["2a", "976"])

    assert report.created == _count(own_database, "2A") + _count(own_database, "976")
    with own_database.session() as session:
        assert session.get(Commune, "97611").departement == "976"  # Mamoudzou


def test_an_unknown_departement_raises_in_french_and_imports_nothing(own_database):
    before = _count(own_database, "87")
    with pytest.raises(InvalidInput, match="département inconnu : « 99 »"), own_database.session() as session:
        import_departements(session, ["87", "99"])

    assert _count(own_database, "87") == before == 0


def test_the_import_is_audited_with_its_departements(own_database):
    with own_database.session() as session:
        import_departements(session, ["19"])
        event = session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "communes.imported")
            .order_by(AuditEvent.id.desc())
        ).first()

        assert event is not None
        assert event.details["file"] == "départements 19"


@pytest.mark.parametrize(("typed", "codes"), [(["1", " 23 "], ["01", "23"]), (["2b", "2B"], ["2B"])])
def test_typed_codes_are_tidied(typed, codes):
    assert departement_codes(typed) == codes


def test_no_code_at_all_is_refused():
    with pytest.raises(InvalidInput, match="aucun département"):
        departement_codes([" "])


def test_a_missing_commune_is_imported_on_demand(own_database):
    with own_database.session() as session:
        brest = commune_or_import(session, "29019")
        assert (brest.name, brest.departement) == ("Brest", "29")
    with own_database.session() as session:
        assert session.get(Commune, "29019") is not None


def test_a_code_unknown_to_the_national_gazetteer_too_is_refused(own_database):
    with pytest.raises(UnknownCommune), own_database.session() as session:
        commune_or_import(session, "98412")  # Kerguelen: no postcode, no position in the sources
