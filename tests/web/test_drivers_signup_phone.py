"""Sign-up proves the driver's phone with a code sent by SMS (issue 15, finding 3).

Without it anyone could make the service text any number, or take someone else's phone.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from support.drivers_kit import count, prove_phone_on_the_web, text
from support.factories import FIRST_PHONE, PASSWORD, add_driver_account, sent_code

from carpool.models import Driver, OutboundMessage, PhoneVerification, UserAccount
from carpool.services import phone_check

PHONE = "+33639981001"
SIGN_UP = {
    "first_name": "Sophie",
    "last_name": "Delmas",
    "email": "sophie.delmas@example.org",
    "phone": FIRST_PHONE,
    "home_commune": "46000 Cahors",
    "seats": "3",
    "wheelchair_accessible": "non",
    "password": PASSWORD,
    "password_confirm": PASSWORD,
}


def ask_code(client, phone: str = FIRST_PHONE, **extra):
    return client.post("/conducteurs/inscription/numero", data={"phone": phone}, **extra)


def type_code(client, code: str):
    return client.post("/conducteurs/inscription/code", data={"code": code})


def codes_sent(session, phone: str = PHONE) -> int:
    query = sa.select(sa.func.count()).where(
        OutboundMessage.to_phone == phone, OutboundMessage.idempotency_key.like("signup-code:%")
    )
    found = session.scalar(query.select_from(OutboundMessage))
    session.rollback()
    return found


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_signing_up_without_a_proven_phone_creates_nothing(client, no_csrf, session, association):
    response = client.post("/conducteurs/inscription", data=SIGN_UP)

    assert response.status_code == 422
    assert "Recevoir le code par SMS" in text(response)
    assert count(session, Driver) == 0 and count(session, UserAccount) == 0


def test_a_six_digit_code_is_texted_and_only_its_digest_is_stored(client, no_csrf, session, association):
    response = ask_code(client)

    assert response.status_code == 302
    code = sent_code(session, PHONE)
    assert re.fullmatch(r"\d{6}", code)
    stored = session.scalars(sa.select(PhoneVerification)).one()
    assert code not in stored.code_hash and stored.phone == PHONE


def test_the_right_code_opens_the_rest_of_the_form_and_the_phone_is_the_proven_one(
    client, no_csrf, session, association
):
    prove_phone_on_the_web(client, FIRST_PHONE)

    response = client.post("/conducteurs/inscription", data={**SIGN_UP, "phone": "06 39 98 77 77"})

    assert response.status_code == 302
    assert session.scalars(sa.select(Driver.phone)).one() == PHONE


def test_a_wrong_code_says_how_many_tries_are_left(client, no_csrf, session, association):
    ask_code(client)
    code = sent_code(session, PHONE)
    session.rollback()

    response = type_code(client, wrong(code))

    assert response.status_code == 422
    assert "Il vous reste 4 essais" in text(response)


def test_after_five_wrong_tries_even_the_right_code_is_refused(client, no_csrf, session, association):
    ask_code(client)
    code = sent_code(session, PHONE)
    session.rollback()
    for _ in range(phone_check.MAX_ATTEMPTS):
        type_code(client, wrong(code))

    response = type_code(client, code)

    assert response.status_code == 422
    assert "plus valable" in text(response)
    assert client.post("/conducteurs/inscription", data=SIGN_UP).status_code == 422


def test_a_code_expires_after_ten_minutes(client, no_csrf, session, association, clock):
    ask_code(client)
    code = sent_code(session, PHONE)
    session.rollback()
    clock.advance(minutes=11)

    response = type_code(client, code)

    assert response.status_code == 422
    assert "plus valable" in text(response)


def test_codes_to_one_phone_are_limited(client, no_csrf, session, association):
    statuses = [ask_code(client).status_code for _ in range(phone_check.CODES_PER_PHONE_HOUR + 1)]

    assert statuses == [302] * phone_check.CODES_PER_PHONE_HOUR + [422]
    assert codes_sent(session) == phone_check.CODES_PER_PHONE_HOUR


def test_codes_from_one_client_are_limited(client, no_csrf, session, association):
    phones = [f"06 39 98 30 {n:02d}" for n in range(phone_check.CODES_PER_CLIENT_HOUR + 1)]

    statuses = [ask_code(client, phone).status_code for phone in phones]

    assert statuses == [302] * phone_check.CODES_PER_CLIENT_HOUR + [422]
    assert "Trop de codes" in text(ask_code(client, "06 39 98 31 00"))


def test_codes_start_again_the_next_hour(client, no_csrf, session, association, clock):
    for _ in range(phone_check.CODES_PER_PHONE_HOUR):
        ask_code(client)
    clock.advance(hours=1)

    assert ask_code(client).status_code == 302


def test_a_phone_that_has_an_account_gets_no_code(client, no_csrf, session, association, clock):
    add_driver_account(session, association, clock, phone=FIRST_PHONE)

    response = ask_code(client)

    assert response.status_code == 422
    assert "Un compte existe déjà avec ce numéro" in text(response)
    assert codes_sent(session) == 0


def test_one_account_per_phone_even_with_a_proof_in_hand(client, no_csrf, session, association, clock):
    prove_phone_on_the_web(client, FIRST_PHONE)
    add_driver_account(session, association, clock, email="autre@example.org", phone=FIRST_PHONE)

    response = client.post("/conducteurs/inscription", data=SIGN_UP)

    assert response.status_code == 422
    assert "Un compte existe déjà avec ce numéro" in text(response)
    assert count(session, Driver) == 1


def test_a_proof_serves_one_sign_up(client, no_csrf, session, association):
    prove_phone_on_the_web(client, FIRST_PHONE)
    with client.session_transaction() as cookie:
        proof = cookie["signup_phone_proof"]
    client.post("/conducteurs/inscription", data=SIGN_UP)
    client.post("/conducteurs/deconnexion")
    with client.session_transaction() as cookie:
        cookie["signup_phone_proof"] = proof  # replayed

    response = client.post("/conducteurs/inscription", data={**SIGN_UP, "email": "bis@example.org"})

    assert response.status_code == 422
    assert count(session, Driver) == 1


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("05 65 12 34 56", "pas un portable"),
        ("08 99 12 34 56", "pas un portable"),
        ("+44 7700 900123", "numéro de portable français"),
        ("12", "numéro de portable français"),
    ],
)
def test_a_code_goes_only_to_a_french_mobile(client, no_csrf, session, association, phone, message):
    response = ask_code(client, phone)

    assert response.status_code == 422
    assert message in text(response)
    assert session.scalar(sa.select(sa.func.count()).select_from(OutboundMessage)) == 0
