"""The second factor is required of admins and of coordinators who see health data (of every
coordinator if the association says so); its secret stays on the server; turning it off takes
the password and a code (issue 15, finding 6)."""

from __future__ import annotations

import pyotp
import pytest
from support.drivers_kit import log_in, text
from support.factories import PASSWORD, TEST_BOX, add_coordinator

from carpool.models import Association, Role, UserAccount
from carpool.services import accounts

ENROL = "/coordination/compte/second-facteur"
SOME_PAGES = ("/coordination/", "/coordination/habitants", "/coordination/compte", "/coordination/journal")


def password_step(client, email: str):
    return client.post("/coordination/connexion", data={"email": email, "password": PASSWORD})


@pytest.fixture
def bare_admin(session, association) -> UserAccount:
    return add_coordinator(session, association, email="admin@example.org", role=Role.ADMIN, totp=False)


@pytest.fixture
def plain_coordinator(session, association) -> UserAccount:
    """Sees no trip purpose: the second factor stays optional."""
    return add_coordinator(session, association, email="paul@example.org", sees_health_data=False)


def test_an_admin_without_it_is_sent_to_enrolment_and_can_do_nothing_else(client, no_csrf, bare_admin):
    response = password_step(client, bare_admin.email)

    assert response.headers["Location"].endswith(ENROL)
    for path in SOME_PAGES:
        assert client.get(path).headers.get("Location", "").endswith(ENROL), path
    assert client.get(ENROL).status_code == 200


def test_a_coordinator_who_sees_health_data_must_enrol_too(client, no_csrf, session, association):
    add_coordinator(session, association, sees_health_data=True, totp=False)

    assert password_step(client, "claire@example.org").headers["Location"].endswith(ENROL)


def test_a_coordinator_who_sees_no_health_data_may_go_without(client, no_csrf, plain_coordinator):
    assert password_step(client, plain_coordinator.email).headers["Location"].endswith("/coordination/")
    assert client.get("/coordination/").status_code == 200


def test_the_association_can_require_it_of_every_coordinator(
    client, no_csrf, session, association, plain_coordinator
):
    association.totp_for_all_coordinators = True
    session.commit()

    assert password_step(client, plain_coordinator.email).headers["Location"].endswith(ENROL)


def test_enrolment_with_a_good_code_opens_the_dashboard(client, no_csrf, session, bare_admin, clock):
    password_step(client, bare_admin.email)
    assert client.get(ENROL).status_code == 200
    session.expire_all()
    secret = TEST_BOX.open(session.get(UserAccount, bare_admin.id).totp_pending_secret)
    session.rollback()  # let the app write (SQLite takes the write lock at BEGIN)

    done = client.post(ENROL, data={"totp-code": pyotp.TOTP(secret).at(clock.now())})

    assert done.status_code == 302
    assert client.get("/coordination/").status_code == 200
    session.expire_all()
    assert TEST_BOX.open(session.get(UserAccount, bare_admin.id).totp_secret) == secret


def test_the_enrolment_secret_never_goes_into_the_cookie(client, no_csrf, session, plain_coordinator):
    log_in(client, plain_coordinator)

    page = text(client.get("/coordination/compte"))

    session.expire_all()
    secret = TEST_BOX.open(session.get(UserAccount, plain_coordinator.id).totp_pending_secret)
    assert secret and secret in page
    with client.session_transaction() as cookie:
        assert secret not in repr(dict(cookie))


@pytest.fixture
def enrolled(session, plain_coordinator) -> pyotp.TOTP:
    secret = pyotp.random_base32()
    accounts.set_totp_secret(plain_coordinator, secret, TEST_BOX)
    session.commit()
    return pyotp.TOTP(secret)


OFF = "/coordination/compte/second-facteur/retirer"


def totp_still_on(session, user) -> bool:
    session.expire_all()
    return session.get(UserAccount, user.id).totp_secret is not None


def test_turning_it_off_without_password_and_code_is_refused(
    client, no_csrf, session, plain_coordinator, enrolled
):
    log_in(client, plain_coordinator)

    response = client.post(OFF, data={})

    assert response.status_code == 422
    assert totp_still_on(session, plain_coordinator)


def test_turning_it_off_with_a_wrong_code_is_refused(client, no_csrf, session, plain_coordinator, enrolled):
    log_in(client, plain_coordinator)

    response = client.post(OFF, data={"off-password": PASSWORD, "off-code": "000000"})

    assert response.status_code == 422
    assert totp_still_on(session, plain_coordinator)


def test_turning_it_off_with_the_password_and_a_code_works(
    client, no_csrf, session, plain_coordinator, enrolled, clock
):
    log_in(client, plain_coordinator)

    response = client.post(OFF, data={"off-password": PASSWORD, "off-code": enrolled.at(clock.now())})

    assert response.status_code == 302
    assert not totp_still_on(session, plain_coordinator)


def test_a_required_second_factor_cannot_be_turned_off(client, no_csrf, session, association, clock):
    admin = add_coordinator(session, association, email="admin@example.org", role=Role.ADMIN, totp=True)
    log_in(client, admin)
    code = pyotp.TOTP(TEST_BOX.open(admin.totp_secret)).at(clock.now())

    response = client.post(OFF, data={"off-password": PASSWORD, "off-code": code})

    assert response.status_code == 422
    assert "obligatoire" in text(response)
    assert totp_still_on(session, admin)


def test_an_admin_requires_it_of_every_coordinator_from_the_settings(client, no_csrf, session, association):
    admin = add_coordinator(session, association, email="admin@example.org", role=Role.ADMIN)
    log_in(client, admin)
    settings = {
        "sms_number": "07 81 23 45 67",
        "rate_per_km": "0,32",
        "sms_retention_days": "90",
        "inactive_resident_retention_days": "730",
        "totp_for_all_coordinators": "y",
    }

    assert client.post("/coordination/reglages", data=settings).status_code == 302

    session.expire_all()
    assert session.get(Association, association.id).totp_for_all_coordinators
