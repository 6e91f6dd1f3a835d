"""0019: requests asked before it get their router distance; drivers count as volunteers."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from test_migrations import _asked, _people_at_0007, _rows

from carpool import migrate
from carpool.db import Database


def test_existing_requests_are_measured_and_drivers_are_volunteers(fresh_database_url):
    database = Database(fresh_database_url)
    migrate.upgrade(database.engine, "0014")
    with database.engine.begin() as conn:
        lot, _other, jeanne, _impostor = _people_at_0007(conn)
        # One degree of latitude north: 111.195 km as the crow flies, 144.55 km for the router.
        north = sa.func.ST_GeomFromText("POINT(1.8 45.5)", 4326)
        asked = {**_asked(lot, jeanne), "dropoff_point": north, "one_way": False}
        _rows(conn, "ride_request", asked)

    migrate.upgrade(database.engine)

    with database.engine.connect() as conn:
        route_km, reason = conn.execute(sa.text("SELECT route_km, long_trip_reason FROM ride_request")).one()
        volunteers = conn.execute(sa.text("SELECT is_volunteer FROM driver")).scalars().all()
        rules = conn.execute(sa.text("SELECT tus_rules FROM association")).scalars().all()
    assert route_km == pytest.approx(144.55, abs=0.05) and reason is None
    assert all(volunteers) and set(rules) == {""}
    database.dispose()
