"""A number that gets an account between the code step and the last step (another tab, a race).

The service's check can miss it (it read before the other sign-up committed); the unique index
on driver.phone then refuses it, and the form says so as for any taken number: no 500.
"""

from __future__ import annotations

from support.drivers_kit import count, prove_phone_on_the_web, text
from support.factories import FIRST_PHONE, PASSWORD, add_driver_account

from carpool.models import Driver, PhoneVerification, UserAccount
from carpool.services import phone_check

SIGN_UP = {
    "first_name": "Sophie",
    "last_name": "Delmas",
    "email": "sophie.delmas@example.org",
    "home_commune": "46000 Cahors",
    "seats": "3",
    "wheelchair_accessible": "non",
    "password": PASSWORD,
    "password_confirm": PASSWORD,
}


def test_a_number_taken_after_the_check_gets_the_form_message_and_nothing_is_kept(
    client, no_csrf, session, association, clock, monkeypatch
):
    prove_phone_on_the_web(client, FIRST_PHONE)
    with client.session_transaction() as cookie:
        proof = cookie["signup_phone_proof"]
    add_driver_account(session, association, clock, email="autre@example.org", phone=FIRST_PHONE)
    checked = phone_check.phone_has_account
    looks = iter(range(100))
    # The sign-up's own look misses the account, as when it ran before the other one committed.
    monkeypatch.setattr(phone_check, "phone_has_account", lambda s, p: next(looks) > 0 and checked(s, p))

    response = client.post("/conducteurs/inscription", data=SIGN_UP)

    assert response.status_code == 422
    assert "Un compte existe déjà avec ce numéro" in text(response)
    assert count(session, Driver) == 1 and count(session, UserAccount) == 1
    assert session.get_one(PhoneVerification, proof).used_at is None  # rolled back with the rest
