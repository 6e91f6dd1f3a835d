"""Requests no form would send — JSON nested 500,000 deep, the year 9999 — get a 400 or a 422
with a message, never a 500."""

from __future__ import annotations

import pytest
from support.drivers_kit import text

from carpool.security import MAX_JSON_DEPTH

pytestmark = pytest.mark.usefixtures("cheap_passwords")

JSON = {"Content-Type": "application/json"}


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("body", ["[" * 500_000, nested(5_000), nested(950)])
def test_deeply_nested_json_is_a_json_400(client, api_headers, body):
    response = client.post("/api/v1/offers", data=body, headers={**api_headers, **JSON})

    assert response.status_code == 400
    assert response.get_json() == {"error": "Requête invalide.", "status": 400}


def test_deeply_nested_json_inside_an_object_is_a_json_400(client, api_headers):
    body = '{"origin": ' + nested(2_000) + "}"

    response = client.put("/api/v1/availability", data=body, headers={**api_headers, **JSON})

    assert response.status_code == 400
    assert response.is_json


def test_deeply_nested_json_sent_to_a_page_is_not_an_error(driver_client, no_csrf):
    response = driver_client.post("/conducteurs/trajets/nouveau", data="[" * 500_000, headers=JSON)

    assert response.status_code in {400, 422}


def test_json_nested_as_deep_as_allowed_is_read_and_deeper_is_not(client, api_headers):
    def body(depth: int) -> str:  # the object itself is one level
        return '{"slots": [], "radius_km": 20, "max_trips_per_week": 3, "extra": ' + nested(depth - 1) + "}"

    allowed = client.put("/api/v1/availability", data=body(MAX_JSON_DEPTH), headers={**api_headers, **JSON})
    deeper = client.put(
        "/api/v1/availability", data=body(MAX_JSON_DEPTH + 1), headers={**api_headers, **JSON}
    )

    assert (allowed.status_code, deeper.status_code) == (200, 400)


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "1999-12", "2100-01"])
def test_a_mileage_month_out_of_range_is_a_json_422(client, api_headers, month):
    response = client.get(f"/api/v1/mileage?month={month}", headers=api_headers)

    assert response.status_code == 422
    assert response.get_json()["fields"] == {"month": "Mois attendu entre 2000-01 et 2099-12."}


def test_a_mileage_month_in_range_is_answered(client, api_headers):
    response = client.get("/api/v1/mileage?month=2026-11", headers=api_headers)

    assert response.status_code == 200
    assert response.get_json()["month"] == "2026-11"


def test_a_repeat_until_the_year_9999_is_a_json_422(client, api_headers):
    offer = {"origin": "Figeac", "destination": "Cahors", "date": "2026-12-01", "time": "08:00"}

    response = client.post(
        "/api/v1/offers",
        json={**offer, "repeat_days": [1], "repeat_until": "9999-12-31"},
        headers=api_headers,
    )

    assert response.status_code == 422
    assert "douze semaines" in response.get_json()["fields"]["repeat_until"]


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_a_run_sheet_for_an_impossible_day_shows_today(driver_client, day):
    response = driver_client.get(f"/conducteurs/feuille-de-route?jour={day}")

    assert response.status_code == 200


@pytest.mark.parametrize("query", ["au=9999-12", "du=9999-01&au=9999-12", "du=0001-01"])
def test_figures_for_the_year_9999_say_the_month_is_not_valid(admin_client, query):
    response = admin_client.get(f"/coordination/chiffres?{query}")

    assert response.status_code == 422
    assert "n'est pas valide" in text(response)


@pytest.mark.parametrize("day", ["9999-12-31", "31/12/9999", "0001-01-01"])
def test_the_journal_filtered_on_an_impossible_day_says_so(admin_client, day):
    response = admin_client.get("/coordination/journal", query_string={"du": day, "au": day})

    assert response.status_code == 200
    assert "n'est pas une date" in text(response)


def test_the_journal_paged_from_an_impossible_event_shows_the_first_page(admin_client):
    assert admin_client.get("/coordination/journal?avant=99999999999999999999").status_code == 200
