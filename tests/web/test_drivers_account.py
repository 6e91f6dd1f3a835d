"""A volunteer signs up, logs in and out, changes or resets their password."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from support.drivers_kit import count, csrf_token, log_in, one, prove_phone_on_the_web, text
from support.factories import FIRST_PHONE, PASSWORD, add_association, add_driver_account, sent_code

from carpool.models import (
    Association,
    Driver,
    OutboundMessage,
    PasswordResetToken,
    Role,
    UserAccount,
    VettingStatus,
)
from carpool.services.accounts import hash_password

SIGN_UP = {
    "first_name": "Sophie",
    "last_name": "Delmas",
    "email": "Sophie.Delmas@example.org",
    "home_commune": "46000 Cahors",
    "seats": "3",
    "wheelchair_accessible": "oui",
    "password": PASSWORD,
    "password_confirm": PASSWORD,
}


@pytest.fixture
def proven(client, no_csrf, association) -> str:
    """The phone of the sign-up form, proven with its code (the first two steps)."""
    return prove_phone_on_the_web(client, FIRST_PHONE)


def test_the_sign_up_page_labels_every_field(client, no_csrf, association):
    first = client.get("/conducteurs/inscription").get_data(as_text=True)
    assert re.search(r'<label for="phone"', first)
    prove_phone_on_the_web(client, FIRST_PHONE)

    page = client.get("/conducteurs/inscription").get_data(as_text=True)

    assert "06 39 98 10 01" in page
    for name in ("first_name", "last_name", "email", "home_commune", "seats", "password"):
        assert re.search(rf'<label for="{name}"', page), name
    assert '<datalist id="communes">' in page
    assert "Cahors (46000)" in page


@pytest.mark.parametrize("commune", ["Cahors", "46000 Cahors", "46042", "cahors", "Cahors (46000)"])
def test_signing_up_creates_a_pending_driver_with_an_e164_phone(
    client, no_csrf, session, association, proven, commune
):
    response = client.post("/conducteurs/inscription", data={**SIGN_UP, "home_commune": commune})

    assert response.status_code == 302
    assert client.get("/conducteurs/").status_code == 200
    driver = one(session, sa.select(Driver))
    assert (driver.phone, driver.home_commune_insee, driver.email) == (
        "+33639981001",
        "46042",
        "sophie.delmas@example.org",
    )
    assert driver.vetting is VettingStatus.PENDING
    assert driver.wheelchair_accessible is True
    user = one(session, sa.select(UserAccount))
    assert (user.role, user.driver_id, user.association_id) == (Role.DRIVER, driver.id, association.id)
    assert user.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("seats", "0", "entre 1 et 8"),
        ("seats", "9", "entre 1 et 8"),
        ("seats", "trois", "Indiquez un nombre entier."),
        ("home_commune", "Atlantis", "Nous ne connaissons pas la commune"),
        ("email", "sophie", "adresse e-mail valide"),
        ("first_name", "", "obligatoire"),
        ("password", "court", "au moins 10 caractères"),
    ],
)
def test_bad_sign_up_input_comes_back_with_a_message_and_saves_nothing(
    client, no_csrf, session, association, proven, field, value, message
):
    data = {**SIGN_UP, field: value}
    if field == "password":
        data["password_confirm"] = value

    response = client.post("/conducteurs/inscription", data=data)

    assert response.status_code == 422
    assert message in text(response)
    assert f'id="{field}-error"' in text(response)
    assert count(session, Driver) == 0
    assert count(session, UserAccount) == 0


def test_passwords_that_differ_are_refused(client, no_csrf, session, association, proven):
    response = client.post(
        "/conducteurs/inscription", data={**SIGN_UP, "password_confirm": "autre-chose-123"}
    )

    assert response.status_code == 422
    assert "pas identiques" in text(response)
    assert count(session, Driver) == 0


def test_an_email_already_used_is_refused(client, no_csrf, session, association, clock, proven):
    add_driver_account(session, association, clock, email="sophie.delmas@example.org", phone="06 39 98 10 09")

    response = client.post("/conducteurs/inscription", data=SIGN_UP)

    assert response.status_code == 422
    assert "existe déjà" in text(response)
    assert count(session, Driver) == 1


def test_with_several_associations_the_driver_chooses_one(client, no_csrf, session, association, proven):
    other = add_association(session, name="Val-d'Oise Solidaire")
    session.commit()

    missing = client.post("/conducteurs/inscription", data=SIGN_UP)
    chosen = client.post("/conducteurs/inscription", data={**SIGN_UP, "association_id": str(other.id)})

    assert missing.status_code == 422
    assert "Choisissez l'association" in text(missing)
    assert chosen.status_code == 302
    assert one(session, sa.select(Driver)).association_id == other.id


def test_a_form_posted_without_its_csrf_token_is_refused(client, session, association):
    response = client.post("/conducteurs/inscription", data=SIGN_UP)

    assert response.status_code == 400
    assert count(session, Driver) == 0


def test_a_form_posted_with_its_csrf_token_is_accepted(client, session, association):
    token = csrf_token(client.get("/conducteurs/inscription").get_data(as_text=True))
    client.post("/conducteurs/inscription/numero", data={"phone": FIRST_PHONE, "csrf_token": token})
    code = sent_code(session, "+33639981001")
    session.rollback()  # a read: SQLite's write lock goes back to the app
    client.post("/conducteurs/inscription/code", data={"code": code, "csrf_token": token})

    response = client.post("/conducteurs/inscription", data={**SIGN_UP, "csrf_token": token})

    assert response.status_code == 302
    assert count(session, Driver) == 1


# --- log-in and log-out --------------------------------------------------------------------


def test_pages_of_the_drivers_area_need_a_log_in(client, association):
    response = client.get("/conducteurs/trajets/nouveau")

    assert response.status_code == 302
    assert response.location.startswith("/conducteurs/connexion?next=/conducteurs/trajets/nouveau")


def test_a_wrong_password_is_refused_with_the_same_message_as_an_unknown_email(client, no_csrf, user):
    wrong = client.post("/conducteurs/connexion", data={"email": user.email, "password": "pas-le-bon-1"})
    unknown = client.post(
        "/conducteurs/connexion", data={"email": "x@example.org", "password": "pas-le-bon-1"}
    )

    for response in (wrong, unknown):
        assert response.status_code == 422
        assert "Adresse e-mail ou mot de passe incorrect." in text(response)
    assert client.get("/conducteurs/").status_code == 302


@pytest.mark.parametrize(
    ("next_url", "landing"),
    [
        ("/conducteurs/disponibilites", "/conducteurs/disponibilites"),
        ("https://evil.example/", "/conducteurs/"),
        ("//evil.example/", "/conducteurs/"),
        ("/\\evil.example", "/conducteurs/"),
        ("javascript:alert(1)", "/conducteurs/"),
    ],
)
def test_logging_in_goes_back_only_to_a_local_page(client, no_csrf, user, next_url, landing):
    response = client.post(
        "/conducteurs/connexion", data={"email": user.email.upper(), "password": PASSWORD, "next": next_url}
    )

    assert response.status_code == 302
    assert response.location == landing


def test_logging_out_voids_the_session_on_the_server(client, app, no_csrf, user):
    client.post("/conducteurs/connexion", data={"email": user.email, "password": PASSWORD})
    stolen = client.get_cookie("session").value
    assert client.get("/conducteurs/").status_code == 200

    assert client.post("/conducteurs/deconnexion").status_code == 302

    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert replay.get("/conducteurs/").status_code == 302


def test_log_out_is_a_post_only(client, user):
    log_in(client, user)

    assert client.get("/conducteurs/deconnexion").status_code == 405


def test_changing_the_password_logs_out_every_other_device(client, app, no_csrf, session, user):
    before = user.password_hash
    log_in(client, user)
    other_device = app.test_client()
    log_in(other_device, user)

    response = client.post(
        "/conducteurs/compte",
        data={
            "current_password": PASSWORD,
            "password": "nouveau-secret-99",
            "password_confirm": "nouveau-secret-99",
        },
    )

    assert response.status_code == 302
    assert client.get("/conducteurs/").status_code == 200
    assert other_device.get("/conducteurs/").status_code == 302
    assert one(session, sa.select(UserAccount)).password_hash != before


def test_the_current_password_is_needed_to_change_it(client, no_csrf, session, user):
    before = user.password_hash
    log_in(client, user)

    response = client.post(
        "/conducteurs/compte",
        data={
            "current_password": "pas-le-bon-1",
            "password": "nouveau-secret-99",
            "password_confirm": "nouveau-secret-99",
        },
    )

    assert response.status_code == 422
    assert one(session, sa.select(UserAccount)).password_hash == before


def test_a_coordinator_account_cannot_use_the_drivers_pages(client, session, association):
    coordinator = UserAccount(
        email="coord@example.org",
        password_hash=hash_password(PASSWORD),
        role=Role.COORDINATOR,
        association_id=association.id,
    )
    session.add(coordinator)
    session.commit()
    log_in(client, coordinator)

    assert client.get("/conducteurs/").status_code == 403


# --- password reset by SMS -----------------------------------------------------------------


def reset_link(session) -> str:
    body = session.scalars(sa.select(OutboundMessage.body).order_by(OutboundMessage.id.desc())).first()
    session.commit()
    found = re.search(r"(/conducteurs/mot-de-passe/[A-Za-z0-9_-]+)", body or "")
    assert found, body
    return found.group(1)


def test_a_reset_link_is_sent_by_sms_and_works_once(client, no_csrf, session, user, clock):
    client.post("/conducteurs/mot-de-passe-oublie", data={"email": user.email})
    sms = one(session, sa.select(OutboundMessage))
    link = reset_link(session)
    secret = link.rsplit("/", 1)[1]

    assert sms.to_phone == "+33639981001"
    assert one(session, sa.select(PasswordResetToken.token_hash)) != secret
    assert client.get(link).status_code == 200
    used = client.post(link, data={"password": "nouveau-secret-99", "password_confirm": "nouveau-secret-99"})
    assert used.status_code == 302
    assert (
        client.post(
            link, data={"password": "encore-autre-99", "password_confirm": "encore-autre-99"}
        ).status_code
        == 410
    )
    assert (
        client.post(
            "/conducteurs/connexion", data={"email": user.email, "password": "nouveau-secret-99"}
        ).status_code
        == 302
    )


def test_a_reset_link_expires(client, no_csrf, session, user, clock):
    before = user.password_hash
    client.post("/conducteurs/mot-de-passe-oublie", data={"email": user.email})
    link = reset_link(session)
    clock.advance(minutes=31)

    response = client.post(
        link, data={"password": "nouveau-secret-99", "password_confirm": "nouveau-secret-99"}
    )

    assert response.status_code == 410
    assert one(session, sa.select(UserAccount)).password_hash == before


def test_an_unknown_email_gets_the_same_answer_and_no_sms(client, no_csrf, session, user):
    known = client.post("/conducteurs/mot-de-passe-oublie", data={"email": user.email}, follow_redirects=True)
    count_after_known = count(session, OutboundMessage)
    unknown = client.post(
        "/conducteurs/mot-de-passe-oublie", data={"email": "nobody@example.org"}, follow_redirects=True
    )

    assert count_after_known == 1
    assert count(session, OutboundMessage) == 1
    assert "Si cette adresse correspond" in text(known)
    assert "Si cette adresse correspond" in text(unknown)


def test_reset_sms_are_not_sent_again_within_two_minutes(client, no_csrf, session, user, clock):
    client.post("/conducteurs/mot-de-passe-oublie", data={"email": user.email})
    client.post("/conducteurs/mot-de-passe-oublie", data={"email": user.email})
    clock.advance(minutes=3)
    client.post("/conducteurs/mot-de-passe-oublie", data={"email": user.email})

    assert count(session, OutboundMessage) == 2


def test_a_forged_reset_link_is_refused(client, user):
    assert client.get("/conducteurs/mot-de-passe/not-a-real-token").status_code == 410


def test_a_reset_voids_the_sessions_opened_before(client, app, no_csrf, session, user):
    other_device = app.test_client()
    log_in(other_device, user)
    client.post("/conducteurs/mot-de-passe-oublie", data={"email": user.email})

    client.post(
        reset_link(session), data={"password": "nouveau-secret-99", "password_confirm": "nouveau-secret-99"}
    )

    assert other_device.get("/conducteurs/").status_code == 302
    assert session.scalar(sa.select(sa.func.count()).select_from(Association)) == 1


def test_ten_wrong_passwords_block_log_ins_for_a_quarter_of_an_hour(client, no_csrf, user, clock):
    for _ in range(10):
        client.post("/conducteurs/connexion", data={"email": user.email, "password": "pas-le-bon-1"})

    blocked = client.post("/conducteurs/connexion", data={"email": user.email, "password": PASSWORD})
    clock.advance(minutes=16)
    allowed = client.post("/conducteurs/connexion", data={"email": user.email, "password": PASSWORD})

    assert blocked.status_code == 429
    assert "Trop de tentatives" in text(blocked)
    assert allowed.status_code == 302
