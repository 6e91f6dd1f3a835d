"""Drivers see which way each trip goes: « aller » to the appointment, « retour » home from it,
on « Mes trajets », the run sheet and the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support.drivers_kit import text
from support.factories import add_request, add_resident

from carpool.models import Leg, RequestStatus
from carpool.services import accounts, bookings


@pytest.fixture
def way_back(session, association, user, clock):
    """Odette's way home from Cahors (appointment at 10:00 two days on), proposed to this driver."""
    appointment = clock.now() + timedelta(days=2)
    request = add_request(
        session,
        association,
        resident=add_resident(session, association, first_name="Odette"),
        latest=appointment,
        return_at=appointment + timedelta(hours=1),
        return_latest=appointment + timedelta(hours=2, minutes=30),
        status=RequestStatus.MATCHED,
    )
    match = bookings.propose(
        session,
        request,
        driver_id=user.driver_id,
        offer_id=None,
        pickup_at=request.return_at + timedelta(minutes=10),
        dropoff_at=request.return_at + timedelta(minutes=50),
        detour_min=0.0,
        actor="user:1",
        clock=clock,
        leg=Leg.BACK,
    )
    session.commit()
    return match


def test_my_rides_say_the_trip_is_the_way_back_from_the_appointment(driver_client, way_back):
    page = text(driver_client.get("/conducteurs/"))

    assert "(retour)" in page
    assert "Cahors (46000), vers" in page  # picked up where the appointment was


def test_the_run_sheet_names_the_leg(driver_client, session, user, way_back, clock):
    driver_client.post(f"/conducteurs/passagers/{way_back.id}/accepter")
    day = way_back.pickup_at.date().isoformat()

    sheet = text(driver_client.get(f"/conducteurs/feuille-de-route?jour={day}"))

    assert "<td>retour</td>" in sheet and "Odette" in sheet


def test_the_api_gives_each_match_its_leg(client, session, user, way_back, clock):
    _token, secret = accounts.create_api_token(session, user, "tests", clock)
    session.commit()

    (listed,) = client.get("/api/v1/matches", headers={"Authorization": f"Bearer {secret}"}).get_json()[
        "matches"
    ]

    assert (listed["leg"], listed["pickup_place"], listed["dropoff_place"]) == (
        "back",
        "Cahors (46000)",
        "Cajarc (46160)",
    )


def test_the_openapi_document_describes_the_leg(client):
    passenger = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["Passenger"]

    assert passenger["properties"]["leg"]["enum"] == ["out", "back"]
