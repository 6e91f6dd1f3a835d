"""GSM-7 detection, segment counting and transliteration."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carpool.notify.gsm import GSM7_BASIC, GSM7_EXTENSION, fit_sms, gsm7_length, is_gsm7, segments, to_gsm7


def test_tables_have_the_3gpp_sizes() -> None:
    # 128 positions minus the escape code; 10 extension characters incl. form feed.
    assert len(GSM7_BASIC) == 127
    assert frozenset("\f^{}\\[~]|€") == GSM7_EXTENSION
    assert not GSM7_BASIC & GSM7_EXTENSION


@pytest.mark.parametrize(
    "text", ["é è ù ì ò à É Ç Ø Å Ä Ö Ñ Ü ß", "Bonjour, RDV à 9h30 !", "5 € [x] {y} ~ | ^ \\"]
)
def test_gsm7_texts(text: str) -> None:
    assert is_gsm7(text)


@pytest.mark.parametrize("char", [*"âçêëîïôûœ’«»…", "\u00a0", "😊", "È", "À"])
def test_not_gsm7(char: str) -> None:
    assert not is_gsm7(f"abc{char}")


def test_small_c_cedilla_is_not_gsm7_but_capital_is() -> None:
    # TS 23.038 puts the CAPITAL C cedilla at 0x09.
    assert is_gsm7("Ç") and not is_gsm7("ç")


def test_extension_characters_count_double() -> None:
    assert gsm7_length("€") == 2
    assert gsm7_length("a€[") == 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),
        ("€" * 81, 2),
        ("a" * 152 + "€" + "a" * 152, 3),  # the escape pair is not split across segments
        ("ç" * 70, 1),
        ("ç" * 71, 2),
        ("ç" * 134, 2),
        ("ç" * 135, 3),
        ("😊" * 35, 1),  # 70 UTF-16 units
        ("😊" * 36, 2),
        ("a" * 66 + "😊" * 2, 1),
        ("a" * 66 + "😊" + "a" * 66, 3),  # the surrogate pair is not split across segments
    ],
)
def test_segments(text: str, expected: int) -> None:
    assert segments(text) == expected


def test_to_gsm7_keeps_the_meaning() -> None:
    source = "Ça côte, où ? Forêt, août, Noël, cœur « bonjour » l’hôpital… 😊"
    assert to_gsm7(source) == 'Ça cote, où ? Foret, aout, Noel, coeur "bonjour" l\'hopital... '


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("ç", "c"),
        ("Œuvre", "OEuvre"),
        ("9\u00a0h\u202f30", "9 h 30"),
        ("tiret — long", "tiret - long"),
        ("👍🏽 ok", " ok"),
        ("À Île", "A Ile"),
        ("n°3", "no3"),
        ("zéro\u200bjoin", "zérojoin"),
    ],
)
def test_to_gsm7_cases(source: str, expected: str) -> None:
    assert to_gsm7(source) == expected


def test_fit_sms_keeps_gsm_text_and_transliterates_the_rest() -> None:
    assert fit_sms("RDV à 9h, départ à 8h30") == "RDV à 9h, départ à 8h30"
    # One "ô" would make the whole reminder UCS-2 (70 characters a segment).
    assert (
        fit_sms("Votre chauffeur arrivera à 9h, à bientôt !") == "Votre chauffeur arrivera à 9h, à bientot !"
    )
    assert fit_sms("Rendez-vous le 4 août à l’hôpital") == "Rendez-vous le 4 aout à l'hopital"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_to_gsm7_always_gives_gsm7(text: str) -> None:
    out = to_gsm7(text)
    assert is_gsm7(out)
    assert fit_sms(out) == out


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz ,.'-âàçéèêëîïôûùÉÈ", max_size=400))
def test_transliterating_french_never_costs_more(text: str) -> None:
    assert segments(fit_sms(text)) <= segments(text)
    assert len(fit_sms(text)) == len(text)
