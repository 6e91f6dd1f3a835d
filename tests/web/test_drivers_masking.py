"""With masking on (Réglages), a driver sees the association's number and the trip reference,
never the passenger's own number; the voice line then connects them (tests/web/test_voice_inbound.py)."""

from __future__ import annotations

from support.drivers_kit import text
from support.factories import add_proposal, add_resident


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
