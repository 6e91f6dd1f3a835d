"""With masking on (Réglages), a driver sees the association's number and the trip reference,
never the passenger's own number; the voice line then connects them (tests/web/test_voice_inbound.py)."""

from __future__ import annotations

from support.drivers_kit import text
from support.factories import add_proposal, add_resident

from carpool.services import accounts


def accepted_passenger(driver_client, session, association, user, clock):
    resident = add_resident(session, association, first_name="Odette")
    match = add_proposal(session, association, user, clock, resident=resident)
    assert driver_client.post(f"/conducteurs/passagers/{match.id}/accepter").status_code == 303
    return resident, match


def test_with_masking_the_driver_sees_the_association_s_number_and_the_reference(
    driver_client, session, association, user, clock
):
    association.number_masking = True
    session.commit()
    resident, match = accepted_passenger(driver_client, session, association, user, clock)

    page = text(driver_client.get("/conducteurs/"))
    sheet = text(driver_client.get("/conducteurs/feuille-de-route?jour=2026-11-25"))

    for shown in (page, sheet):
        assert "05 39 98 00 01" in shown
        assert f"T{match.id}" in shown
        assert resident.phone not in shown
        assert "06 39 97" not in shown
    assert "tapez 1" in page


def test_without_masking_the_passenger_s_number_is_shown_once_accepted(
    driver_client, session, association, user, clock
):
    resident, match = accepted_passenger(driver_client, session, association, user, clock)

    page = text(driver_client.get("/conducteurs/"))

    assert f'href="tel:{resident.phone}"' in page
    assert f"T{match.id}" not in page


def test_the_api_gives_the_association_s_number_and_the_reference_too(
    client, session, association, user, clock
):
    association.number_masking = True
    session.commit()
    match = add_proposal(session, association, user, clock, resident=add_resident(session, association))
    _token, secret = accounts.create_api_token(session, user, "tests", clock)
    session.commit()
    auth = {"Authorization": f"Bearer {secret}"}

    assert client.post(f"/api/v1/matches/{match.id}/accept", headers=auth).status_code == 200
    (passenger,) = client.get("/api/v1/matches", headers=auth).get_json()["matches"]

    assert (passenger["phone"], passenger["reference"]) == ("+33539980001", f"T{match.id}")
