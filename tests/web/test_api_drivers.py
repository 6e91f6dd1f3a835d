"""The drivers' JSON API: bearer tokens, the same rules as the pages, an OpenAPI description."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa
from support.drivers_kit import count, log_in, one
from support.factories import add_driver_account, add_proposal, add_resident

from carpool.models import ApiToken, AvailabilitySlot, Driver, Match, MatchStatus, Offer, OfferStatus, TimeOff
from carpool.services import accounts

OFFER = {
    "origin": "Figeac",
    "destination": "Centre hospitalier de Cahors",
    "date": "2026-12-01",
    "time": "08:00",
}


def token_for(session, user, clock) -> dict[str, str]:
    _token, secret = accounts.create_api_token(session, user, "tests", clock)
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def auth(session, user, clock):
    return token_for(session, user, clock)


@pytest.fixture
def other_auth(session, association, clock):
    other = add_driver_account(session, association, clock, email="marc@example.org", phone="06 39 98 10 02")
    return token_for(session, other, clock)


def test_the_openapi_document_describes_every_route(client, app):
    response = client.get("/api/v1/openapi.json")

    document = response.get_json()
    assert response.status_code == 200
    assert document["openapi"] == "3.1.0"
    routes = {
        re.sub(r"<(?:int:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
    }
    assert routes == set(document["paths"])
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nope", "Basic dXNlcjpwYXNz"])
def test_without_a_valid_token_the_answer_is_a_json_401(client, user, header):
    response = client.get("/api/v1/me", headers={"Authorization": header} if header else {})

    assert response.status_code == 401
    assert response.get_json() == {"error": "Jeton d'accès manquant ou invalide.", "status": 401}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_made_on_the_account_page_is_shown_once_and_stored_hashed(client, app, session, user):
    app.config["WTF_CSRF_ENABLED"] = False
    log_in(client, user)

    page = client.post("/conducteurs/compte/jetons", data={"name": "Mon téléphone"}).get_data(as_text=True)
    secret = re.search(r'<code class="token">([^<]+)</code>', page).group(1)

    stored = one(session, sa.select(ApiToken))
    assert stored.token_hash == accounts.digest(secret)
    assert secret not in stored.token_hash
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).get_json()["email"]
        == user.email
    )
    assert secret not in client.get("/conducteurs/compte").get_data(as_text=True)


def test_a_revoked_token_stops_working(client, app, session, user, auth):
    app.config["WTF_CSRF_ENABLED"] = False
    log_in(client, user)
    token = one(session, sa.select(ApiToken))

    client.post(f"/conducteurs/compte/jetons/{token.id}/revoquer")

    assert client.get("/api/v1/me", headers=auth).status_code == 401


def test_the_api_needs_no_csrf_token(client, session, auth):
    response = client.post("/api/v1/offers", json=OFFER, headers=auth)

    assert response.status_code == 201
    assert count(session, Offer) == 1


def test_offering_a_ride_with_a_return_and_a_weekly_repeat(client, session, auth):
    response = client.post(
        "/api/v1/offers",
        json={**OFFER, "return_time": "17:00", "repeat_days": [1], "repeat_until": "2026-12-15", "seats": 2},
        headers=auth,
    )

    created = response.get_json()["offers"]
    assert response.status_code == 201
    assert len(created) == 6  # three Tuesdays, each with its return
    assert created[0]["destination"] == "Centre hospitalier de Cahors"
    assert created[0]["depart_earliest"] == "2026-12-01T07:45:00+01:00"
    assert created[1]["return_of_id"] == created[0]["id"]
    assert count(session, Offer) == 6


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"date": "2026-11-01"}, "day"),
        ({"origin": "Atlantis"}, "origin"),
        ({"seats": 0}, "seats"),
        ({"seats": 9}, "seats"),
        ({"seats": "3"}, "seats"),
        ({"max_detour_min": 300}, "max_detour_min"),
        ({"time": "8h"}, "time"),
        ({"date": None}, "date"),
        ({"repeat_days": [1], "repeat_until": "2027-06-01"}, "repeat_until"),
        ({"return_time": "07:00"}, "return_time"),
    ],
)
def test_bad_offers_are_refused_with_the_field_and_nothing_is_saved(client, session, auth, changes, field):
    response = client.post("/api/v1/offers", json={**OFFER, **changes}, headers=auth)

    body = response.get_json()
    assert response.status_code == 422
    assert (body["status"], body["error"]) == (422, "Certaines données sont à corriger.")
    assert field in body["fields"]
    assert count(session, Offer) == 0


def test_a_body_that_is_not_json_is_a_400(client, session, auth):
    response = client.post("/api/v1/offers", data="origin=Figeac", headers=auth)

    assert response.status_code == 400
    assert response.get_json()["status"] == 400


def test_changing_an_offer_partially(client, session, auth):
    (offer,) = client.post("/api/v1/offers", json=OFFER, headers=auth).get_json()["offers"]

    response = client.patch(f"/api/v1/offers/{offer['id']}", json={"seats": 2, "time": "09:00"}, headers=auth)

    assert response.status_code == 200
    assert response.get_json()["seats_total"] == 2
    assert response.get_json()["depart_earliest"] == "2026-12-01T08:45:00+01:00"
    assert response.get_json()["destination"] == "Centre hospitalier de Cahors"


def test_cancelling_with_a_passenger_needs_a_reason(client, session, association, user, auth, clock):
    (created,) = client.post("/api/v1/offers", json=OFFER, headers=auth).get_json()["offers"]
    offer = one(session, sa.select(Offer))
    match = add_proposal(session, association, user, clock, offer=offer)

    refused = client.post(f"/api/v1/offers/{created['id']}/cancel", json={}, headers=auth)
    done = client.post(f"/api/v1/offers/{created['id']}/cancel", json={"reason": "Malade"}, headers=auth)

    assert refused.status_code == 422
    assert "reason" in refused.get_json()["fields"]
    assert done.status_code == 200
    assert done.get_json()["cancelled_matches"] == [match.id]
    assert one(session, sa.select(Offer)).status is OfferStatus.CANCELLED


def test_accepting_a_passenger_reveals_their_phone(client, session, association, user, auth, clock):
    resident = add_resident(session, association, first_name="Odette", wheelchair=True)
    match = add_proposal(session, association, user, clock, resident=resident)

    listed = client.get("/api/v1/matches", headers=auth).get_json()["matches"]
    accepted = client.post(f"/api/v1/matches/{match.id}/accept", headers=auth)
    again = client.post(f"/api/v1/matches/{match.id}/accept", headers=auth)

    assert listed == [
        {
            "match_id": match.id,
            "status": "proposed",
            "offer_id": None,
            "leg": "out",
            "first_name": "Odette",
            "pickup_place": "Cajarc (46160)",
            "dropoff_place": "Cahors (46000)",
            "pickup_at": "2026-11-25T10:00:00+01:00",
            "dropoff_at": "2026-11-25T10:45:00+01:00",
            "seats": 1,
            "needs": ["fauteuil roulant"],
            "phone": None,
            "reference": None,
        }
    ]
    assert accepted.status_code == 200
    assert (accepted.get_json()["status"], accepted.get_json()["phone"]) == ("confirmed", resident.phone)
    assert again.status_code == 409
    assert again.get_json()["status"] == 409


def test_declining_a_passenger(client, session, association, user, auth, clock):
    match = add_proposal(session, association, user, clock)

    response = client.post(f"/api/v1/matches/{match.id}/decline", headers=auth)

    assert response.get_json()["status"] == "declined"
    assert one(session, sa.select(Match)).status is MatchStatus.DECLINED


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/offers/{offer}"),
        ("patch", "/api/v1/offers/{offer}"),
        ("post", "/api/v1/offers/{offer}/cancel"),
        ("post", "/api/v1/matches/{match}/accept"),
        ("post", "/api/v1/matches/{match}/decline"),
        ("delete", "/api/v1/time-off/{time_off}"),
    ],
)
def test_another_drivers_records_are_not_found(
    client, session, association, user, auth, other_auth, clock, method, path
):
    (created,) = client.post("/api/v1/offers", json={**OFFER, "comment": "Secret"}, headers=auth).get_json()[
        "offers"
    ]
    offer = one(session, sa.select(Offer))
    resident = add_resident(session, association, first_name="Odette")
    match = add_proposal(session, association, user, clock, offer=offer, resident=resident)
    period = TimeOff(driver_id=user.driver_id, first_day=date(2026, 12, 20), last_day=date(2026, 12, 24))
    session.add(period)
    session.commit()

    response = getattr(client, method)(
        path.format(offer=created["id"], match=match.id, time_off=period.id),
        json={"seats": 1, "reason": "x"},
        headers=other_auth,
    )

    assert response.status_code == 404
    assert response.get_json() == {"error": "Introuvable.", "status": 404}
    assert one(session, sa.select(Offer)).seats_total == 3
    assert one(session, sa.select(Match)).status is MatchStatus.PROPOSED
    assert count(session, TimeOff) == 1
    listed = client.get("/api/v1/matches", headers=other_auth).get_json()
    assert listed == {"matches": []}
    assert client.get("/api/v1/offers", headers=other_auth).get_json() == {"offers": []}


def test_availability_is_replaced_and_read_back(client, session, user, auth):
    response = client.put(
        "/api/v1/availability",
        json={"slots": [{"weekday": 0, "starts_at": "08:00", "ends_at": "12:00"}], "radius_km": 30},
        headers=auth,
    )
    time_off = client.post(
        "/api/v1/time-off", json={"first_day": "2026-12-24", "last_day": "2026-12-26"}, headers=auth
    )

    assert response.status_code == 200
    assert response.get_json()["slots"] == [{"weekday": 0, "starts_at": "08:00", "ends_at": "12:00"}]
    assert time_off.status_code == 201
    read = client.get("/api/v1/availability", headers=auth).get_json()
    assert read["radius_km"] == 30
    assert read["time_off"][0]["first_day"] == "2026-12-24"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"slots": [{"weekday": 0, "starts_at": "12:00", "ends_at": "08:00"}]}, "slots-0-ends_at"),
        ({"slots": [{"weekday": 7, "starts_at": "08:00", "ends_at": "12:00"}]}, "slots-0-weekday"),
        ({"slots": [{"weekday": "lundi", "starts_at": "08:00", "ends_at": "12:00"}]}, "slots-0-weekday"),
        ({"slots": [], "radius_km": 0}, "radius_km"),
        ({"slots": "lundi"}, "slots"),
    ],
)
def test_bad_availability_is_refused_and_nothing_changes(client, session, auth, payload, field):
    response = client.put("/api/v1/availability", json=payload, headers=auth)

    assert response.status_code == 422
    assert field in response.get_json()["fields"]
    assert count(session, AvailabilitySlot) == 0
    assert one(session, sa.select(Driver)).radius_km == 20


def test_the_mileage_statement(client, auth):
    response = client.get("/api/v1/mileage?month=2026-11", headers=auth)

    assert response.get_json() == {
        "month": "2026-11",
        "rate_per_km": "0.529",
        "total_km": "0.0",
        "total_amount": "0.00",
        "total_contribution": "0.00",
        "choice": None,
        "settled": False,
        "trips": [],
    }
    assert client.get("/api/v1/mileage?month=novembre", headers=auth).status_code == 422


def test_places_for_autocomplete(client, auth):
    places = client.get("/api/v1/places?q=hospitalier", headers=auth).get_json()["places"]

    assert "Centre hospitalier de Cahors" in places
