"""Settings and coordinators' accounts: admins only, bounded values, revocation that bites."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from support.drivers_kit import count, log_in, one, text
from support.factories import PASSWORD, add_coordinator, add_driver_account

from carpool.models import Association, AuditEvent, Role, UserAccount

SETTINGS = {
    "sms_number": "07 81 23 45 67",
    "phone": "05 65 12 34 56",
    "rate_per_km": "0,35",
    "sms_retention_days": "60",
    "inactive_resident_retention_days": "730",
}
NEW = {"new-email": "paul@example.org", "new-role": "coordinator", "new-password": "poney-rouge-77"}


@pytest.fixture
def admin(session, association):
    return add_coordinator(session, association, email="admin@example.org", role=Role.ADMIN)


@pytest.fixture
def admin_client(client, no_csrf, admin):
    log_in(client, admin)
    return client


def fresh(session, model, record_id):
    return one(session, sa.select(model).where(model.id == record_id))


def test_coordinators_get_403_everywhere_in_settings(coord_client, coordinator):
    answers = [
        coord_client.get("/coordination/reglages"),
        coord_client.post("/coordination/reglages", data=SETTINGS),
        coord_client.post("/coordination/reglages/comptes", data=NEW),
        coord_client.post(f"/coordination/reglages/comptes/{coordinator.id}", data={}),
        coord_client.post(f"/coordination/reglages/comptes/{coordinator.id}/retirer"),
    ]

    assert [a.status_code for a in answers] == [403] * 5


def test_an_admin_saves_the_settings(admin_client, session, association):
    response = admin_client.post("/coordination/reglages", data=SETTINGS)

    assert response.status_code == 302
    saved = fresh(session, Association, association.id)
    assert (saved.sms_number, saved.rate_per_km, saved.sms_retention_days) == (
        "07 81 23 45 67",
        Decimal("0.35"),
        60,
    )
    assert count(session, AuditEvent) >= 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sms_number": "01 23 45 67 89"}, "Indiquez un numéro de portable français qui reçoit les SMS"),
        ({"rate_per_km": "2,50"}, "entre 0 et 2"),
        ({"sms_retention_days": "3"}, "La durée doit être entre 7 et 365 jours."),
        ({"inactive_resident_retention_days": "5000"}, "La durée doit être entre 180 et 3650 jours."),
        ({"sms_retention_days": "dix"}, "Indiquez un nombre entier."),
        ({"return_window_min": "300"}, "Le délai du retour doit être entre 30 et 240 minutes."),
        ({"road_speed_kmh": "120"}, "La vitesse moyenne doit être entre 15 et 80 km/h."),
    ],
)
def test_bad_settings_come_back_with_the_reason(admin_client, session, association, changes, message):
    response = admin_client.post("/coordination/reglages", data={**SETTINGS, **changes})

    assert response.status_code == 422
    assert message in text(response)
    saved = fresh(session, Association, association.id)
    assert (saved.sms_number, saved.rate_per_km) == ("06 39 98 00 00", Decimal("0.529"))


def test_an_admin_sets_the_return_window(admin_client, session, association):
    response = admin_client.post("/coordination/reglages", data={**SETTINGS, "return_window_min": "120"})

    assert response.status_code == 302
    assert fresh(session, Association, association.id).return_window_min == 120


def test_an_admin_sets_a_town_road_speed(admin_client, session, association):
    response = admin_client.post("/coordination/reglages", data={**SETTINGS, "road_speed_kmh": "25"})

    assert response.status_code == 302
    assert fresh(session, Association, association.id).road_speed_kmh == 25
    assert 'id="road_speed_kmh"' in text(admin_client.get("/coordination/reglages"))


def test_the_settings_page_has_labelled_fields_and_an_accounts_table(admin_client):
    page = text(admin_client.get("/coordination/reglages"))

    assert '<label for="rate_per_km">' in page and 'value="0,529"' in page
    assert "<caption>Comptes de l'association (1)</caption>" in page


def test_an_admin_creates_a_coordinator_who_can_then_log_in(admin_client, session, association):
    response = admin_client.post("/coordination/reglages/comptes", data=NEW)

    assert response.status_code == 302
    paul = one(session, sa.select(UserAccount).where(UserAccount.email == "paul@example.org"))
    assert (paul.role, paul.association_id, paul.sees_health_data) == (
        Role.COORDINATOR,
        association.id,
        False,
    )
    logged_in = admin_client.post(
        "/coordination/connexion", data={"email": "paul@example.org", "password": "poney-rouge-77"}
    )
    assert logged_in.status_code == 302


def test_a_duplicate_email_is_refused(admin_client, session, association, clock):
    add_driver_account(session, association, clock, email="paul@example.org")
    before = count(session, UserAccount)

    response = admin_client.post("/coordination/reglages/comptes", data=NEW)

    assert response.status_code == 422
    assert "Cette adresse est déjà utilisée par un autre compte." in text(response)
    assert count(session, UserAccount) == before


def test_a_short_initial_password_is_refused(admin_client, session):
    response = admin_client.post("/coordination/reglages/comptes", data={**NEW, "new-password": "court"})

    assert response.status_code == 422 and "au moins 10 caractères" in text(response)


def test_an_admin_toggles_access_to_health_data(admin_client, session, association):
    claire = add_coordinator(session, association, sees_health_data=True)

    response = admin_client.post(
        f"/coordination/reglages/comptes/{claire.id}", data={f"a{claire.id}-role": "coordinator"}
    )

    assert response.status_code == 302
    assert fresh(session, UserAccount, claire.id).sees_health_data is False
    actions = session.scalars(sa.select(AuditEvent.action).where(AuditEvent.subject_id == claire.id)).all()
    assert "account.updated" in actions


def test_the_last_admin_cannot_demote_themself(admin_client, session, admin):
    response = admin_client.post(
        f"/coordination/reglages/comptes/{admin.id}", data={f"a{admin.id}-role": "coordinator"}
    )

    assert response.status_code == 422
    assert "dernier compte administrateur" in text(response)
    assert fresh(session, UserAccount, admin.id).role is Role.ADMIN


def test_a_revoked_coordinator_s_session_dies(admin_client, app, session, association):
    claire = add_coordinator(session, association)
    her_browser = app.test_client()
    log_in(her_browser, claire)
    assert her_browser.get("/coordination/").status_code == 200

    response = admin_client.post(f"/coordination/reglages/comptes/{claire.id}/retirer")

    assert response.status_code == 302
    after = her_browser.get("/coordination/")
    assert after.status_code == 302 and "/coordination/connexion" in after.headers["Location"]
    logged_in = her_browser.post(
        "/coordination/connexion", data={"email": claire.email, "password": PASSWORD}
    )
    assert logged_in.status_code == 422


def test_a_revoked_account_is_listed_without_actions(admin_client, session, association):
    claire = add_coordinator(session, association)
    admin_client.post(f"/coordination/reglages/comptes/{claire.id}/retirer")

    page = text(admin_client.get("/coordination/reglages"))

    assert "Accès retiré" in page and f"/reglages/comptes/{claire.id}/retirer" not in page


def test_an_admin_cannot_revoke_themself(admin_client, session, admin):
    response = admin_client.post(f"/coordination/reglages/comptes/{admin.id}/retirer")

    assert response.status_code == 422
    assert "propre accès" in text(response)
    assert fresh(session, UserAccount, admin.id).password_hash != "!revoked"


def test_another_association_s_accounts_are_not_found(admin_client, session, other_association):
    theirs = add_coordinator(session, other_association, email="secret@example.org")

    answers = [
        admin_client.post(
            f"/coordination/reglages/comptes/{theirs.id}", data={f"a{theirs.id}-role": "admin"}
        ),
        admin_client.post(f"/coordination/reglages/comptes/{theirs.id}/retirer"),
    ]

    assert [a.status_code for a in answers] == [404, 404]
    assert "secret@example.org" not in text(admin_client.get("/coordination/reglages"))
    still = fresh(session, UserAccount, theirs.id)
    assert still.role is Role.COORDINATOR and still.password_hash != "!revoked"


def test_drivers_log_ins_are_not_managed_here(admin_client, session, association, clock):
    sophie = add_driver_account(session, association, clock)

    response = admin_client.post(f"/coordination/reglages/comptes/{sophie.id}/retirer")

    assert response.status_code == 404


def test_changes_without_the_csrf_token_are_refused(client, session, association, admin):
    log_in(client, admin)
    claire = add_coordinator(session, association)

    answers = [
        client.post("/coordination/reglages", data=SETTINGS),
        client.post("/coordination/reglages/comptes", data=NEW),
        client.post(f"/coordination/reglages/comptes/{claire.id}", data={f"a{claire.id}-role": "admin"}),
        client.post(f"/coordination/reglages/comptes/{claire.id}/retirer"),
    ]

    assert [a.status_code for a in answers] == [400] * 4
    assert fresh(session, Association, association.id).sms_number == "06 39 98 00 00"
    assert fresh(session, UserAccount, claire.id).role is Role.COORDINATOR
    assert count(session, UserAccount) == 2
