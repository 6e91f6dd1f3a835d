"""Honest CO2 figures: what the service emits and what it avoids are shown apart, then the balance."""

from __future__ import annotations

import pytest
from support.drivers_kit import text
from support.factories import CAHORS, CAJARC, FIGEAC, add_driver, add_offer, add_resident
from test_figures import km, on, report, trip

from carpool.services import figures

F = figures.CAR_KG_CO2E_PER_KM


@pytest.fixture
def driver(session, association):
    return add_driver(session, association, insee=FIGEAC)


def test_an_offered_ride_emits_its_detour_and_avoids_the_passengers_car_trip(session, association, driver):
    offer = add_offer(session, driver)
    trip(session, add_resident(session, association), driver, on(3), offer=offer, detour_min=6.0)
    session.commit()

    total = report(session, association).total

    # 6 minutes of detour at 50 km/h: 5 km added.
    assert total.co2_emitted_kg == pytest.approx(5.0 * F, rel=0.01)
    assert total.co2_replaced_kg == pytest.approx(km((CAJARC, CAHORS)) * F, rel=0.01)


def test_a_volunteer_trip_emits_its_whole_loop_and_avoids_a_taxi_driving_twice(session, association, driver):
    trip(session, add_resident(session, association), driver, on(3))
    session.commit()

    total = report(session, association).total

    loop = km((FIGEAC, CAJARC), (CAJARC, CAHORS), (CAHORS, FIGEAC))
    assert total.co2_emitted_kg == pytest.approx(loop * F, rel=0.02)
    assert total.co2_replaced_kg == pytest.approx(2 * km((CAJARC, CAHORS)) * F, rel=0.02)
    assert total.co2_avoided_kg == pytest.approx(total.co2_replaced_kg - total.co2_emitted_kg)


def test_the_page_shows_emissions_and_avoided_emissions_apart(coord_client, session, association, driver):
    trip(session, add_resident(session, association), driver, on(3))
    session.commit()

    page = text(coord_client.get("/coordination/chiffres?du=2026-11&au=2026-11"))

    assert "kg de CO2 émis par les kilomètres ajoutés" in page
    assert "kg de CO2 évités par les trajets en voiture remplacés" in page
    assert (
        "(le service émet plus qu'il n'évite)" in page
    )  # one loop Figeac–Cajarc–Cahors–Figeac for one person
    assert "une estimation pour une voiture thermique moyenne" in page
