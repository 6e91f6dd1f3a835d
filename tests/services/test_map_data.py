"""The map's data: drivers' homes coarsened to about 1 km, trips each the way they go."""

from __future__ import annotations

import math
from datetime import datetime, time, timedelta

import pytest
from support.factories import CAHORS, CAJARC, PARIS, TUESDAY, add_driver, add_request

from carpool.models import Leg, Match, MatchStatus
from carpool.services.map_data import GRID_LAT, GRID_LON, coarsen, today_trips

HOMES = [(1.43213, 44.61187), (1.44123, 44.44742), (-1.5536, 47.2184), (7.7521, 48.5734), (2.3522, 48.8566)]


def km_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Equirectangular distance: plenty for a few hundred metres."""
    mean_lat = math.radians((a[1] + b[1]) / 2)
    dx = math.radians(b[0] - a[0]) * math.cos(mean_lat)
    dy = math.radians(b[1] - a[1])
    return 6371 * math.hypot(dx, dy)


@pytest.mark.parametrize("home", HOMES)
def test_a_home_moves_but_stays_within_its_cell(home):
    shown = coarsen(*home)
    assert shown != home
    assert abs(shown[0] - home[0]) <= GRID_LON / 2 and abs(shown[1] - home[1]) <= GRID_LAT / 2
    assert km_between(home, shown) < 0.9


@pytest.mark.parametrize("home", HOMES)
def test_cells_are_about_a_kilometre_wide(home):
    lat = math.radians(home[1])
    width_km = 6371 * math.radians(GRID_LON) * math.cos(lat)
    height_km = 6371 * math.radians(GRID_LAT)
    assert 0.9 < width_km < 1.35 and 1.0 < height_km < 1.2


def test_every_home_of_a_cell_shows_at_the_same_point():
    assert coarsen(1.43213, 44.61187) == coarsen(1.43501, 44.61402) == coarsen(1.43999, 44.61999)


def test_the_shown_point_is_the_same_wherever_the_home_is_in_its_cell():
    """Knowing the shown point narrows a home down to its cell, nothing finer."""
    corner, centre = coarsen(1.42501, 44.61001), coarsen(1.4325, 44.615)
    assert corner == centre


def test_a_way_back_goes_from_the_appointment_home_on_the_map(session, association):
    """The map reads each leg's own direction (the board and the map share one query)."""
    back_at = datetime.combine(TUESDAY.date(), time(11, 30), tzinfo=PARIS)
    request = add_request(session, association, CAJARC, CAHORS, return_at=back_at)
    driver = add_driver(session, association)
    for leg, at in ((Leg.OUT, back_at - timedelta(hours=2)), (Leg.BACK, back_at)):
        session.add(
            Match(
                request_id=request.id,
                driver_id=driver.id,
                leg=leg,
                pickup_at=at,
                dropoff_at=at + timedelta(minutes=40),
                status=MatchStatus.CONFIRMED,
            )
        )
    session.flush()

    trips = today_trips(session, association.id, datetime.combine(TUESDAY.date(), time(0), tzinfo=PARIS))

    assert [(t.origin.name, t.destination.name) for t in trips] == [
        ("Cajarc", "Cahors"),
        ("Cahors", "Cajarc"),
    ]
