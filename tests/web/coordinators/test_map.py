"""The coordinators' map: today's trips, open requests and drivers' homes, coarsened, one association only.

The list is server-rendered; the same items come as JSON for Leaflet. One
browser test checks the map draws offline (no tiles) and stays accessible.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from support.coordkit import second_factor_in_browser
from support.drivers_kit import text
from support.factories import (
    CAJARC,
    FIGEAC,
    GOURDON,
    PARIS,
    PASSWORD,
    WHERE,
    add_association,
    add_coordinator,
    add_driver,
    add_driver_account,
    add_proposal,
    add_request,
    add_resident,
)

from carpool.db import point
from carpool.models import MatchStatus, RequestSource, RequestStatus, Role
from carpool.services import bookings

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)  # the clock fixture, in Paris


def open_request(
    session, association, *, latest, resident=None, pickup_point=None, status=RequestStatus.OPEN
):
    """A request waiting for a driver; its pickup point is the resident's door."""
    resident = resident or add_resident(session, association, first_name="Odette")
    request = add_request(
        session,
        association,
        resident=resident,
        latest=latest,
        window=timedelta(hours=2),
        source=RequestSource.PHONE,
        status=status,
        pickup_point=pickup_point,
    )
    session.commit()
    return request


def home_of(session, association, first_name, where=None, *, insee=FIGEAC):
    """A vetted driver living at ``where`` (their commune's centre by default)."""
    driver = add_driver(session, association, insee=insee)
    driver.first_name = first_name
    if where:
        driver.home_point = point(*where)
    session.flush()
    return driver


@pytest.fixture
def day(session, association, clock):
    """A driver with a passenger this afternoon and one tomorrow, an open request, another driver."""
    driver = add_driver_account(session, association, clock)
    today = add_proposal(
        session,
        association,
        driver,
        clock,
        resident=add_resident(session, association, first_name="Jeanne"),
        pickup_at=NOW.replace(hour=14),
    )
    tomorrow = add_proposal(
        session,
        association,
        driver,
        clock,
        resident=add_resident(session, association, first_name="Marcel"),
        pickup_at=NOW.replace(hour=14) + timedelta(days=1),
    )
    request = open_request(session, association, latest=NOW + timedelta(days=2))
    home_of(session, association, "Paul", insee=GOURDON)
    session.commit()
    return {"today": today, "tomorrow": tomorrow, "request": request}


def map_json(client) -> dict:
    response = client.get("/coordination/carte.json")
    assert response.status_code == 200
    return response.get_json()


def test_the_page_lists_todays_trips_open_requests_and_drivers(coord_client, day):
    page = text(coord_client.get("/coordination/carte"))
    assert "Jeanne Delpech" in page and "14 h 00" in page
    assert "Odette Delpech" in page and "Cajarc → Cahors" in page
    assert "Paul Delmas" in page and "Gourdon" in page


def test_the_json_holds_the_same_items_as_the_list(coord_client, day):
    data = map_json(coord_client)
    assert [trip["passenger"] for trip in data["trips"]] == ["Jeanne Delpech"]
    assert [request["passenger"] for request in data["requests"]] == ["Odette Delpech"]
    assert sorted(home["driver"] for home in data["homes"]) == ["Paul Delmas", "Sophie Delmas"]


def test_only_todays_trips_are_on_the_map(coord_client, day):
    passengers = [trip["passenger"] for trip in map_json(coord_client)["trips"]]
    assert "Marcel Delpech" not in passengers


def test_cancelled_trips_are_not_drawn(coord_client, session, clock, day):
    bookings.transition(session, day["today"], MatchStatus.CANCELLED, actor="system", clock=clock)
    session.commit()
    assert map_json(coord_client)["trips"] == []


def test_past_and_matched_requests_are_left_out(coord_client, session, association, day):
    open_request(session, association, latest=NOW - timedelta(hours=1))
    open_request(session, association, latest=NOW + timedelta(days=1), status=RequestStatus.MATCHED)
    requests = map_json(coord_client)["requests"]
    assert [request["id"] for request in requests] == [day["request"].id]


def test_drivers_homes_are_moved_to_the_centre_of_a_1_km_cell(coord_client, session, association):
    exact = (1.43213, 44.61187)
    home_of(session, association, "Lucie", exact)
    session.commit()
    (home,) = map_json(coord_client)["homes"]
    shown = (home["at"]["lon"], home["at"]["lat"])
    assert shown != exact
    assert abs(shown[0] - exact[0]) <= 0.0075 and abs(shown[1] - exact[1]) <= 0.005  # within the cell


def test_neighbours_in_the_same_cell_share_one_point(coord_client, session, association):
    home_of(session, association, "Lucie", (1.43213, 44.61187))
    home_of(session, association, "Henri", (1.43501, 44.61402))
    session.commit()
    homes = map_json(coord_client)["homes"]
    assert homes[0]["at"] == homes[1]["at"]


def test_requests_are_placed_at_their_commune_centre_never_at_the_door(coord_client, session, association):
    door = (1.48321, 44.48712)
    open_request(session, association, latest=NOW + timedelta(days=1), pickup_point=point(*door))
    (request,) = map_json(coord_client)["requests"]
    lon, lat = WHERE[CAJARC]
    assert (request["from"]["lon"], request["from"]["lat"]) == (round(lon, 5), round(lat, 5))
    assert str(door[0]) not in json.dumps(request)


def test_trip_purposes_are_never_sent(coord_client, day):
    body = coord_client.get("/coordination/carte.json").get_data(as_text=True)
    assert "purpose" not in body and "medical" not in body and "santé" not in body
    assert "santé" not in text(coord_client.get("/coordination/carte"))


def test_another_associations_items_never_leak(coord_client, session, clock, day, other_association):
    stranger = add_driver_account(
        session,
        other_association,
        clock,
        email="bruno@example.org",
        phone="06 39 98 10 77",
        first_name="Bruno",
    )
    add_proposal(
        session,
        other_association,
        stranger,
        clock,
        resident=add_resident(session, other_association, first_name="Gisèle"),
        pickup_at=NOW.replace(hour=15),
    )
    open_request(
        session,
        other_association,
        latest=NOW + timedelta(days=1),
        resident=add_resident(session, other_association, first_name="Raymond"),
    )
    body = coord_client.get("/coordination/carte.json").get_data(as_text=True)
    page = text(coord_client.get("/coordination/carte"))
    for name in ("Bruno", "Gisèle", "Raymond"):
        assert name not in body and name not in page


def test_the_page_has_no_inline_script_for_a_strict_csp(coord_client, day):
    page = coord_client.get("/coordination/carte").get_data(as_text=True)
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert re.findall(r"\son[a-z]+\s*=", page) == []
    assert 'src="/static/vendor/leaflet/leaflet.js"' in page and 'src="/static/map.js"' in page


def test_leaflet_is_served_by_the_app_itself(coord_client):
    for path in (
        "vendor/leaflet/leaflet.js",
        "vendor/leaflet/leaflet.css",
        "vendor/leaflet/images/layers.png",
    ):
        response = coord_client.get(f"/static/{path}")
        assert response.status_code == 200, path
        response.close()


def test_drivers_cannot_read_the_map_data(client, session, association, clock):
    from support.drivers_kit import log_in

    log_in(client, add_driver_account(session, association, clock))
    assert client.get("/coordination/carte.json").status_code == 403


@pytest.mark.browser
def test_the_map_draws_offline_over_an_accessible_list_and_the_journal_passes_axe_too(
    page, live_server, db, clock, axe_violations, screenshot
):
    with db.sessionmaker() as session:  # the helpers commit as they go
        association = add_association(session, name="Lot Mobilité Carte")
        add_coordinator(session, association, role=Role.COORDINATOR)
        driver = add_driver_account(session, association, clock)
        add_proposal(session, association, driver, clock, pickup_at=NOW.replace(hour=14))
        open_request(session, association, latest=NOW + timedelta(days=2))
    page.route(
        "https://tile.openstreetmap.org/**", lambda route: route.abort()
    )  # offline, whatever the network
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and "tile.openstreetmap.org" not in message.location.get("url", "")
            else None
        ),
    )

    page.goto(live_server + "/coordination/connexion")
    page.get_by_label("Adresse e-mail").fill("claire@example.org")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    second_factor_in_browser(page, clock)
    page.get_by_role("link", name="Carte", exact=True).click()

    page.wait_for_url("**/coordination/carte")
    assert page.get_by_role("heading", name="Trajets d'aujourd'hui").is_visible()
    assert page.get_by_role("cell", name="Jeanne Delpech").is_visible()
    page.locator(".leaflet-container .leaflet-interactive").first.wait_for()
    assert page.get_by_role("region", name="Carte des trajets, des demandes et des conducteurs").is_visible()
    page.get_by_text("Le fond de carte ne se charge pas").wait_for()
    assert errors == []
    violations = axe_violations(page)
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
    screenshot(page, "coordination-carte")

    page.get_by_role("link", name="Journal", exact=True).click()  # the journal, while we are logged in
    page.wait_for_url("**/coordination/journal")
    assert page.get_by_role("cell", name="Passager proposé à un conducteur").is_visible()
    violations = axe_violations(page)
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
    screenshot(page, "coordination-journal")
