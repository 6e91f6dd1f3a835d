"""Spatial queries give the same answers on SpatiaLite and PostGIS (and agree with haversine)."""

from __future__ import annotations

import math

import pytest

from carpool.gazetteer import read_communes
from carpool.services.places import UnknownCommune, communes_within, nearest_commune


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    (lon1, lat1), (lon2, lat2) = a, b
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def test_communes_within_10_km_of_cahors(session):
    found = communes_within(session, "46042", 10)

    assert [c.commune.name for c in found][:4] == ["Cahors", "Bellefont-La Rauze", "Lamagdelaine", "Pradines"]
    assert len(found) == 17
    assert found[-1].commune.name == "Maxou"
    assert found[-1].km == pytest.approx(9.72, abs=0.01)


def test_communes_within_agrees_with_haversine(session):
    communes = {c.insee: (c.lon, c.lat) for c in read_communes()}
    cahors = communes["46042"]
    expected = {insee for insee, where in communes.items() if haversine_km(cahors, where) <= 10}

    found = {c.commune.insee for c in communes_within(session, "46042", 10)}

    assert found == expected


def test_nearest_commune_to_a_point_in_figeac(session):
    nearest = nearest_commune(session, 2.0310, 44.6085)

    assert nearest.commune.name == "Figeac"
    assert nearest.km < 1


def test_nearest_commune_in_val_d_oise(session):
    assert nearest_commune(session, 2.2500, 48.9470).commune.insee == "95018"  # Argenteuil


def test_an_unknown_commune_is_a_domain_error(session):
    with pytest.raises(UnknownCommune):
        communes_within(session, "99999", 10)
