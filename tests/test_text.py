"""The words people type: place names, French mobile numbers, e-mail addresses."""

from __future__ import annotations

import pytest

from carpool.errors import InvalidInput
from carpool.text import display_phone, fold, is_email, is_french_mobile, normalise_mobile


def test_fold_ignores_case_accents_hyphens_and_apostrophes() -> None:
    assert fold("Puy-l'Évêque") == "puy l eveque"


@pytest.mark.parametrize(("typed", "folded"), [("St-Céré", "saint cere"), ("Ste Colombe", "sainte colombe")])
def test_fold_writes_out_saints_abbreviations(typed: str, folded: str) -> None:
    assert fold(typed) == folded


@pytest.mark.parametrize(
    "typed",
    ["06 12 34 56 78", "06.12.34.56.78", "+33 6 12 34 56 78", "+33 (0)6 12 34 56 78", "0033 612345678"],
)
def test_a_mobile_written_any_usual_way_becomes_e164(typed: str) -> None:
    assert normalise_mobile(typed) == "+33612345678"


@pytest.mark.parametrize("typed", ["05 65 12 34 56", "08 00 12 34 56", "12345", "+44 7700 900123"])
def test_a_landline_or_foreign_number_is_refused_in_french(typed: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        normalise_mobile(typed)
    assert "portable" in refused.value.errors["phone"]


def test_only_french_mobiles_count_as_such() -> None:
    assert is_french_mobile("+33781234567") and not is_french_mobile("+33565123456")


def test_a_french_number_is_shown_in_pairs() -> None:
    assert display_phone("+33612345678") == "06 12 34 56 78"
    assert display_phone("+447700900123") == "+447700900123"


def test_an_email_needs_a_domain_and_a_reasonable_length() -> None:
    assert is_email("prenom.nom@exemple.fr")
    assert not is_email("prenom.nom@exemple")
    assert not is_email("a@b.fr" + "r" * 250)
