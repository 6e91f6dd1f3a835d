"""Migrations build the schema from empty and agree with the models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from carpool import migrate
from carpool.db import Database, UTCDateTime
from carpool.errors import StartupError
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


def _rows(conn: sa.Connection, name: str, *rows: dict) -> list[int]:
    """Insert rows through a bare table (the models are ahead of the schema); their ids."""
    columns = {key for row in rows for key in row}
    table = sa.table(name, sa.column("id"), *(sa.column(c, _TYPES.get(c)) for c in sorted(columns)))
    return [conn.execute(sa.insert(table).values(row).returning(table.c.id)).scalar_one() for row in rows]


_TYPES = {
    name: UTCDateTime(timezone=True)
    for name in ("created_at", "earliest", "latest", "return_at", "pickup_at", "dropoff_at")
}
_POINT = sa.func.ST_GeomFromText("POINT(1.8 44.5)", 4326)
_BEFORE, _REGISTERED, _AFTER = (datetime(2026, 11, day, 9, tzinfo=UTC) for day in (1, 2, 3))
_HERS, _DRIVERS = "+33639971001", "+33639981001"


def _people_at_0007(conn: sa.Connection) -> tuple[int, int, int, int]:
    """The Lot (Jeanne, a driver, and a "resident" with the driver's number) and Argenteuil."""
    association = {"rate_per_km": 0.32, "sms_retention_days": 90, "inactive_resident_retention_days": 730}
    named = ({**association, "name": name, "created_at": _BEFORE} for name in ("Lot", "Argenteuil"))
    lot, other = _rows(conn, "association", *named)
    commune = {"insee": "46042", "name": "Cajarc", "postcode": "46160", "population": 1100, "point": _POINT}
    conn.execute(sa.insert(sa.table("commune", *map(sa.column, commune))).values(commune))
    person = {
        "association_id": lot,
        "first_name": "Jeanne",
        "last_name": "Delpech",
        "home_commune_insee": "46042",
        "uses_wheelchair": False,
        "uses_walker": False,
        "needs_help_boarding": False,
        "notes": "",
        "created_at": _REGISTERED,
    }
    jeanne, impostor = _rows(conn, "resident", {**person, "phone": _HERS}, {**person, "phone": _DRIVERS})
    driver = {
        "association_id": lot,
        "first_name": "Sophie",
        "last_name": "Delmas",
        "email": "sophie@example.org",
        "phone": _DRIVERS,
        "home_commune_insee": "46042",
        "home_point": _POINT,
        "seats": 3,
        "wheelchair_accessible": False,
        "vetting": "vetted",
        "radius_km": 20,
        "max_trips_per_week": 3,
        "created_at": _BEFORE,
    }
    _rows(conn, "driver", driver)
    return lot, other, jeanne, impostor


def test_existing_texts_are_given_a_resident_only_where_no_one_else_can_be_meant(fresh_database_url):
    """0008: same association, the resident's number, no driver's, after their registration."""
    database = Database(fresh_database_url)
    migrate.upgrade(database.engine, "0007")
    with database.engine.begin() as conn:
        lot, other, jeanne, impostor = _people_at_0007(conn)
        sent = {"status": "sent", "attempts": 0, "body": "x"}
        outbound = _rows(
            conn,
            "outbound_message",
            *(
                {**sent, "idempotency_key": key, "association_id": by, "to_phone": to, "created_at": at}
                for key, by, to, at in (
                    ("hers", lot, _HERS, _AFTER),
                    ("before her registration", lot, _HERS, _BEFORE),
                    ("another association's", other, _HERS, _AFTER),
                    ("a driver's reset link", lot, _DRIVERS, _AFTER),
                )
            ),
        )
        got = {"needs_attention": False, "body": "y", "created_at": _AFTER, "association_id": lot}
        inbound = _rows(
            conn,
            "inbound_message",
            {**got, "message_sid": "SMhers", "from_phone": _HERS},
            {**got, "message_sid": "SMdriver", "from_phone": _DRIVERS, "resident_id": impostor},
        )

    migrate.upgrade(database.engine)

    with database.engine.connect() as conn:
        out = dict(conn.execute(sa.text("SELECT id, resident_id FROM outbound_message")).all())
        into = dict(conn.execute(sa.text("SELECT id, resident_id FROM inbound_message")).all())
    assert [out[i] for i in outbound] == [jeanne, None, None, None]
    assert [into[i] for i in inbound] == [jeanne, None]
    database.dispose()


def _asked(association: int, resident: int) -> dict:
    """A request as its row was before 0013 (no way back, from Cajarc to Cajarc)."""
    return {
        "association_id": association,
        "resident_id": resident,
        "pickup_commune_insee": "46042",
        "pickup_point": _POINT,
        "dropoff_commune_insee": "46042",
        "dropoff_point": _POINT,
        "earliest": _BEFORE,
        "latest": _REGISTERED,
        "passengers": 1,
        "purpose": "medical",
        "source": "sms",
        "status": "open",
        "note": "",
        "created_at": _BEFORE,
    }


def test_a_way_back_gets_the_default_window_and_old_matches_the_outward_leg(
    fresh_database_url,
):
    """0013: home by return_at + 90 min; every earlier match took the resident there."""
    database = Database(fresh_database_url)
    migrate.upgrade(database.engine, "0012")
    with database.engine.begin() as conn:
        lot, _other, jeanne, _impostor = _people_at_0007(conn)
        asked = _asked(lot, jeanne)
        both, one = _rows(conn, "ride_request", {**asked, "return_at": _AFTER}, {**asked, "return_at": None})
        (driver,) = conn.execute(sa.text("SELECT id FROM driver")).scalars().all()
        made = {"request_id": both, "driver_id": driver, "seats": 1, "detour_min": 0.0, "status": "confirmed"}
        _rows(
            conn,
            "ride_match",
            {**made, "pickup_at": _BEFORE, "dropoff_at": _REGISTERED, "created_at": _BEFORE},
        )

    migrate.upgrade(database.engine)

    with database.engine.connect() as conn:
        table = sa.table(
            "ride_request", sa.column("id"), sa.column("return_latest", UTCDateTime(timezone=True))
        )
        latest = dict(conn.execute(sa.select(table.c.id, table.c.return_latest)).all())
        legs = conn.execute(sa.text("SELECT leg FROM ride_match")).scalars().all()
        one_way = conn.execute(sa.text("SELECT one_way FROM ride_request")).scalars().all()
        window = conn.execute(sa.text("SELECT return_window_min FROM association")).scalars().all()
    assert latest == {both: _AFTER + timedelta(minutes=90), one: None}
    assert legs == ["out"] and not any(one_way) and set(window) == {90}
    database.dispose()


def test_conversations_go_to_their_residents_association_and_a_number_may_then_be_known_twice(
    fresh_database_url,
):
    """0018: a number is unique within an association; each conversation belongs to one."""
    database = Database(fresh_database_url)
    migrate.upgrade(database.engine, "0014")
    with database.engine.begin() as conn:
        lot, other, _jeanne, _impostor = _people_at_0007(conn)
        talk = {"state": "idle", "draft": "{}", "options": "[]", "unknown_replies": 0, "updated_at": _AFTER}
        _rows(conn, "conversation", {**talk, "phone": _HERS}, {**talk, "phone": "+33639979999"})

    migrate.upgrade(database.engine)

    with database.engine.begin() as conn:
        owners = dict(conn.execute(sa.text("SELECT phone, association_id FROM conversation")).all())
        person = {
            "association_id": other,
            "phone": _HERS,
            "first_name": "Jeanne",
            "last_name": "Delpech",
            "home_commune_insee": "46042",
            "uses_wheelchair": False,
            "uses_walker": False,
            "needs_help_boarding": False,
            "notes": "",
            "created_at": _AFTER,
        }
        _rows(conn, "resident", person)  # the same number, in Argenteuil: allowed now
        speeds = conn.execute(sa.text("SELECT road_speed_kmh, departements FROM association")).all()
    # A stranger's conversation (no resident) goes to the first association, as their texts did.
    assert owners == {_HERS: lot, "+33639979999": lot}
    assert set(speeds) == {(50, "")}
    database.dispose()


def _second_driver_with_the_same_number(conn: sa.Connection) -> list[int]:
    """Marc, signed up with Sophie's number before the index existed; both drivers' ids."""
    columns = (
        "association_id, first_name, last_name, email, phone, home_commune_insee, home_point, seats, "
        "wheelchair_accessible, vetting, radius_km, max_trips_per_week, created_at"
    )
    copied = columns.replace("first_name, last_name, email", "'Marc', 'Vidal', 'marc@example.org'")
    conn.execute(sa.text(f"INSERT INTO driver ({columns}) SELECT {copied} FROM driver"))
    return list(conn.execute(sa.text("SELECT id FROM driver ORDER BY id")).scalars())


def _driver_indexes(database: Database) -> set[str | None]:
    return {index["name"] for index in sa.inspect(database.engine).get_indexes("driver")}


def test_drivers_sharing_a_number_stop_the_upgrade_which_names_them_and_changes_nothing(
    fresh_database_url,
):
    """0023: which account keeps the number is a coordinator's call, never the migration's."""
    database = Database(fresh_database_url)
    migrate.upgrade(database.engine, "0022")
    with database.engine.begin() as conn:
        _people_at_0007(conn)
        sophie, marc = _second_driver_with_the_same_number(conn)

    with pytest.raises(StartupError) as refused:
        migrate.upgrade(database.engine)

    assert f"({_DRIVERS} : conducteurs {sophie}, {marc})" in str(refused.value)
    assert "rien n'a été modifié" in str(refused.value) and "\n" not in str(refused.value)
    assert migrate.current_revision(database.engine) == "0022"
    assert "ix_driver_phone" not in _driver_indexes(database)
    with database.engine.connect() as conn:
        phones = conn.execute(sa.text("SELECT id, phone FROM driver")).all()
    assert sorted(phones) == [(sophie, _DRIVERS), (marc, _DRIVERS)]
    database.dispose()


def test_once_the_number_is_corrected_the_upgrade_adds_the_index_that_refuses_a_second_driver(
    fresh_database_url,
):
    database = Database(fresh_database_url)
    migrate.upgrade(database.engine, "0022")
    with database.engine.begin() as conn:
        _people_at_0007(conn)
        _sophie, marc = _second_driver_with_the_same_number(conn)
        conn.execute(sa.text("UPDATE driver SET phone = '+33639981002' WHERE id = :id"), {"id": marc})

    migrate.upgrade(database.engine)

    assert "ix_driver_phone" in _driver_indexes(database)
    with pytest.raises(sa.exc.IntegrityError), database.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE driver SET phone = :phone WHERE id = :id"), {"phone": _DRIVERS, "id": marc}
        )
    database.dispose()
