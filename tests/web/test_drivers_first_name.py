"""A driver's first name goes into SMS to residents: letters (accents welcome), spaces, hyphens
and apostrophes only, 40 characters at most; anything else is refused in French, nothing saved."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from support.drivers_kit import count, one, prove_phone_on_the_web, text
from support.factories import FIRST_PHONE
from test_drivers_account import SIGN_UP

from carpool.models import Driver
from carpool.services import drivers


def sign_up(client, first_name: str):
    """The sign-up form with this first name, after the phone's code step."""
    prove_phone_on_the_web(client, FIRST_PHONE)
    return client.post("/conducteurs/inscription", data={**SIGN_UP, "first_name": first_name})


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Zoë", "Zoë"),
        ("Marie-Hélène", "Marie-Hélène"),
        ("  Jean   Pierre ", "Jean Pierre"),
        ("D’Arcy", "D'Arcy"),
        ("N'Golo", "N'Golo"),
        ("Jean - Luc", "Jean-Luc"),
        ("Ægir", "Ægir"),
        ("Zoe\u0308", "Zoë"),  # a combining diaeresis, composed
    ],
)
def test_first_names_with_accents_hyphens_and_apostrophes_are_kept(
    client, no_csrf, session, association, typed, kept
):
    response = sign_up(client, typed)

    assert response.status_code == 302
    assert one(session, sa.select(Driver.first_name)) == kept


@pytest.mark.parametrize(
    "typed",
    [
        "Sophie http://evil.example",
        "Sophie 0639981001",
        "Bob<script>",
        "Sophie\u202e",  # right-to-left override
        "Paul 👵",
        "-Paul",
        "Paul''",
        "Jean_Paul",
        "Marie.Claire",
        "x" * 41,
    ],
)
def test_other_characters_or_a_long_first_name_are_refused_in_french(
    client, no_csrf, session, association, typed
):
    response = sign_up(client, typed)

    assert response.status_code == 422
    assert "prénom" in text(response)
    assert count(session, Driver) == 0


def test_the_refusal_says_what_a_first_name_may_contain(client, no_csrf, association):
    page = text(sign_up(client, "Sophie 06 39 98 10 01"))

    assert "que des lettres (accents compris), des espaces, des traits d'union et des apostrophes" in page


def test_a_first_name_of_forty_letters_is_accepted():
    assert drivers.first_name_problem("A" * drivers.FIRST_NAME_MAX) is None
    assert (
        drivers.first_name_problem("A" * (drivers.FIRST_NAME_MAX + 1))
        == "Votre prénom doit faire 40 caractères au plus."
    )
