"""The drivers' registry: list with filters and expiry warnings, detail, vetting decisions."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa
from support.drivers_kit import csrf_token, log_in, one, text
from support.factories import add_driver

from carpool.models import AuditEvent, Driver, VettingStatus

VETTING = {
    "decision": "vetted",
    "documents_seen": "y",
    "licence_valid_until": "2035-01-01",
    "insurance_valid_until": "2027-06-30",
    "note": "Vus au local.",
}


@pytest.fixture
def pending(session, association):
    driver = add_driver(
        session, association, vetting=VettingStatus.PENDING, first_name="Marc", last_name="Lacaze"
    )
    session.commit()
    return driver


def words(response) -> str:
    """The page's text without its tags, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", text(response)).split())


def fresh(session, driver) -> Driver:
    return one(session, sa.select(Driver).where(Driver.id == driver.id))


def test_the_list_shows_each_driver_with_their_state_and_phone(coord_client, pending):
    page = text(coord_client.get("/coordination/conducteurs"))

    assert "Lacaze Marc" in page and "À vérifier" in page and "06 39 98" in page


def test_the_list_filters_by_state(coord_client, session, association, pending):
    add_driver(session, association, first_name="Lucie", last_name="Vidal", vetting=VettingStatus.PAUSED)
    session.commit()

    page = text(coord_client.get("/coordination/conducteurs?etat=paused"))

    assert "Vidal Lucie" in page and "Lacaze Marc" not in page


def test_the_list_warns_of_expired_and_soon_expiring_documents(coord_client, session, association):
    add_driver(
        session,
        association,
        licence_valid_until=date(2026, 11, 1),
        insurance_valid_until=date(2026, 12, 10),
    )
    session.commit()

    page = words(coord_client.get("/coordination/conducteurs"))

    assert "Expiré depuis le dimanche 1 novembre 2026" in page
    assert "Expire bientôt : le jeudi 10 décembre 2026" in page


def test_the_list_is_an_accessible_table(coord_client, pending):
    page = coord_client.get("/coordination/conducteurs").get_data(as_text=True)

    assert "<caption>" in page and '<th scope="col">' in page and '<th scope="row">' in page


def test_the_detail_shows_the_phone_and_the_vetting_form(coord_client, pending):
    page = text(coord_client.get(f"/coordination/conducteurs/{pending.id}"))

    assert "06 39 98" in page and "Enregistrer la décision" in page
    assert '<label for="licence_valid_until">' in page


def test_vetting_makes_the_driver_assignable_and_is_audited(coord_client, session, pending, coordinator):
    response = coord_client.post(f"/coordination/conducteurs/{pending.id}/verification", data=VETTING)

    assert response.status_code == 302
    driver = fresh(session, pending)
    assert driver.vetting is VettingStatus.VETTED and driver.documents_checked_at is not None
    actors = session.scalars(sa.select(AuditEvent.actor).where(AuditEvent.action == "driver.vetted")).all()
    assert actors == [f"user:{coordinator.id}"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"documents_seen": ""}, "Cochez cette case"),
        ({"licence_valid_until": ""}, "Indiquez la date de fin de validité du permis."),
        ({"insurance_valid_until": "2026-11-01"}, "La validité de l'assurance est dépassée"),
        ({"insurance_valid_until": "31/02/2027"}, "Cette date n'est pas valide."),
    ],
)
def test_vetting_without_proof_comes_back_with_the_reason(coord_client, session, pending, changes, message):
    data = {k: v for k, v in {**VETTING, **changes}.items() if v}

    response = coord_client.post(f"/coordination/conducteurs/{pending.id}/verification", data=data)

    assert response.status_code == 422
    assert message in text(response)
    driver = fresh(session, pending)
    assert driver.vetting is VettingStatus.PENDING and driver.vetting_note == ""


def test_a_driver_can_be_paused_at_any_time(coord_client, session, association):
    driver = add_driver(session, association, licence_valid_until=date(2020, 1, 1))
    session.commit()

    response = coord_client.post(
        f"/coordination/conducteurs/{driver.id}/verification", data={"decision": "paused", "note": "Malade"}
    )

    assert response.status_code == 302
    assert fresh(session, driver).vetting is VettingStatus.PAUSED
    assert "en pause" in text(coord_client.get(response.headers["Location"]))


def test_another_association_s_driver_is_not_found(coord_client, session, other_association):
    driver = add_driver(session, other_association, vetting=VettingStatus.PENDING, first_name="Secret")
    session.commit()

    shown = coord_client.get(f"/coordination/conducteurs/{driver.id}")
    vetted = coord_client.post(f"/coordination/conducteurs/{driver.id}/verification", data=VETTING)

    assert (shown.status_code, vetted.status_code) == (404, 404)
    assert "Secret" not in text(shown) + text(coord_client.get("/coordination/conducteurs"))
    assert fresh(session, driver).vetting is VettingStatus.PENDING


def test_vetting_without_the_csrf_token_is_refused(client, session, coordinator, pending):
    log_in(client, coordinator)

    response = client.post(f"/coordination/conducteurs/{pending.id}/verification", data=VETTING)

    assert response.status_code == 400
    assert fresh(session, pending).vetting is VettingStatus.PENDING


def test_vetting_with_the_csrf_token_from_the_page_works(client, session, coordinator, pending):
    log_in(client, coordinator)
    token = csrf_token(client.get(f"/coordination/conducteurs/{pending.id}").get_data(as_text=True))

    response = client.post(
        f"/coordination/conducteurs/{pending.id}/verification", data={**VETTING, "csrf_token": token}
    )

    assert response.status_code == 302
    assert fresh(session, pending).vetting is VettingStatus.VETTED


def test_two_hundred_drivers_are_listed_in_a_few_queries(coord_client, session, association, db):
    for n in range(200):
        add_driver(session, association, licence_valid_until=date(2027, 1, n % 28 + 1))
    session.commit()
    statements = []
    sa.event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    response = coord_client.get("/coordination/conducteurs")

    assert response.status_code == 200 and text(response).count("Sophie") == 200
    assert len(statements) <= 6
