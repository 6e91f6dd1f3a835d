"""Trips longer than 100 km (router distance): a reason on the phone, a coordinator's attention by SMS.

Soturac → Bessonies: 96.55 km as the crow flies, 125.5 km for the router (× 1.3).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from support.drivers_kit import count, text
from support.factories import SERVICE_NUMBER, add_request, add_resident, new_message_sid

from carpool.models import AuditEvent, Request
from carpool.services.sms_inbound import handle_inbound

SOTURAC, BESSONIES = "46307", "46338"
FAR = {
    "destination": "Bessonies",
    "day": "2026-12-01",
    "arrive_by": "10:00",
    "passengers": "1",
    "purpose": "",
}


def test_a_phone_request_over_100_km_needs_a_reason(coord_client, session, association):
    person = add_resident(session, association, home=SOTURAC)
    session.commit()

    response = coord_client.post(f"/coordination/appel/{person.id}", data=FAR)

    assert response.status_code == 422
    assert "Ce trajet fait environ 126 km, plus que les 100 km" in text(response)
    assert count(session, Request) == 0


def test_a_phone_request_over_100_km_keeps_its_distance_and_reason(coord_client, session, association):
    person = add_resident(session, association, home=SOTURAC)
    session.commit()

    coord_client.post(
        f"/coordination/appel/{person.id}",
        data={**FAR, "long_trip_reason": "Seul centre de dialyse possible"},
    )

    ride = session.scalars(sa.select(Request)).one()
    assert ride.route_km == pytest.approx(125.52, abs=0.05)
    assert ride.long_trip_reason == "Seul centre de dialyse possible"
    ride_id = ride.id
    session.rollback()
    page = text(coord_client.get(f"/coordination/demandes/{ride_id}"))
    assert "plus de 100 km</strong> : Seul centre de dialyse possible" in page


def test_a_short_phone_request_needs_no_reason(coord_client, session, association):
    person = add_resident(session, association)
    session.commit()

    coord_client.post(f"/coordination/appel/{person.id}", data={**FAR, "destination": "Cahors"})

    ride = session.scalars(sa.select(Request)).one()
    assert ride.route_km < 100 and ride.long_trip_reason is None


def test_an_sms_request_over_100_km_waits_for_a_coordinators_reason(
    coord_client, session, clock, association
):
    person = add_resident(session, association, home=SOTURAC)
    session.commit()
    handle_inbound(session, message_sid=new_message_sid(), from_phone=person.phone, to_phone=SERVICE_NUMBER,
                   body="rdv a Bessonies mardi a 10h", clock=clock)  # fmt: skip
    session.commit()
    ride = session.scalars(sa.select(Request)).one()
    assert ride.route_km > 100 and ride.long_trip_reason is None
    ride_id = ride.id
    session.rollback()

    today = text(coord_client.get("/coordination/"))
    assert "1 trajet de plus de 100 km" in today and f"/coordination/demandes/{ride_id}" in today

    refused = coord_client.post(
        f"/coordination/demandes/{ride_id}/motif-distance", data={"longtrip-long_trip_reason": ""}
    )
    assert refused.status_code == 422
    assert "Indiquez pourquoi ce trajet de plus de 100 km est assuré." in text(refused)

    coord_client.post(
        f"/coordination/demandes/{ride_id}/motif-distance", data={"longtrip-long_trip_reason": "Spécialiste"}
    )
    assert session.get(Request, ride_id).long_trip_reason == "Spécialiste"
    assert session.scalar(sa.select(AuditEvent.action).where(AuditEvent.action == "request.long_trip_reason"))
    session.rollback()
    assert "trajet de plus de 100 km" not in text(coord_client.get("/coordination/"))


def test_another_associations_request_cannot_get_a_reason(coord_client, session, other_association):
    ride = add_request(session, other_association)
    session.commit()

    response = coord_client.post(
        f"/coordination/demandes/{ride.id}/motif-distance", data={"longtrip-long_trip_reason": "x"}
    )

    assert response.status_code == 404
