"""The national gazetteer shipped in the package: complete, small, consistent with the demo's file."""

from __future__ import annotations

from collections import Counter

import pytest

from carpool.gazetteer import (
    COMMUNES_CSV,
    NATIONAL_CSV,
    departement_of,
    read_communes,
    read_neighbours,
)


@pytest.fixture(scope="module")
def national():  # type: ignore[no-untyped-def]
    return read_communes(NATIONAL_CSV)


def test_every_commune_with_a_position_is_shipped(national):
    # 34,969 current communes, less the five districts of the TAAF: no postcode, no inhabitant,
    # no position in either source (SOURCES.md).
    assert len(national) == 34_964


def test_the_overseas_collectivities_are_placed_at_their_chief_town(national):
    by_insee = {c.insee: c for c in national}
    papeete, faaa, noumea = by_insee["98735"], by_insee["98715"], by_insee["98818"]

    assert (papeete.departement, noumea.departement) == ("987", "988")
    assert (papeete.lat, papeete.lon) == (faaa.lat, faaa.lon) == (-17.535, -149.5696)
    assert not {"98411", "98412", "98413", "98414", "98415"} & set(by_insee)


def test_overseas_departements_are_included(national):
    per_departement = Counter(c.departement for c in national)

    assert {d: per_departement[d] for d in ("971", "972", "973", "974", "976")} == {
        "971": 32,
        "972": 34,
        "973": 22,
        "974": 24,
        "976": 17,
    }


def test_the_file_stays_small():
    assert NATIONAL_CSV.stat().st_size <= 4_000_000


def test_communes_without_town_hall_nor_outline_have_a_fallback_point(national):
    by_insee = {c.insee: c for c in national}
    aurseulles = by_insee["14581"]

    assert (aurseulles.name, aurseulles.postcodes) == ("Aurseulles", ("14240", "14250"))
    assert 49.0 < aurseulles.lat < 49.3 and -0.9 < aurseulles.lon < -0.5
    assert {"15031", "15035", "15047", "15171"} <= set(by_insee)


def test_the_demo_file_is_the_national_one_cut_to_the_lot_and_the_val_d_oise(national):
    demo = [c for c in national if c.departement in ("46", "95")]

    assert [(c.insee, c.name, c.postcode, c.lat, c.lon, c.population) for c in demo] == [
        (c.insee, c.name, c.postcode, c.lat, c.lon, c.population) for c in read_communes(COMMUNES_CSV)
    ]


def test_neighbours_are_symmetric_and_cover_every_departement(national):
    neighbours = read_neighbours()

    assert set(neighbours) == {c.departement for c in national}
    assert set(neighbours["23"]) == {"03", "18", "19", "36", "63", "87"}
    assert all(a in neighbours[b] for a, near in neighbours.items() for b in near)


@pytest.mark.parametrize(("insee", "departement"), [("23096", "23"), ("2A004", "2A"), ("97411", "974")])
def test_the_departement_of_a_commune(insee, departement):
    assert departement_of(insee) == departement
