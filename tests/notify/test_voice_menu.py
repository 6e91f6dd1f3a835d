"""The TwiML of the phone line: Twilio's verbs only, French, keypad and speech; words read aloud."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from carpool.notify import voice_menu
from carpool.text import french_number, same_number

#: Nouns Twilio accepts inside each verb we use (TwiML reference, Voice).
ALLOWED = {
    "Response": {"Say", "Gather", "Dial", "Record", "Hangup"},
    "Gather": {"Say"},
    "Say": {"prosody"},
    "Dial": {"Number"},
}


def parsed(twiml: str) -> ET.Element:
    return ET.fromstring(twiml)  # noqa: S314 - our own TwiML


def check_verbs(element: ET.Element) -> None:
    for child in element:
        assert child.tag in ALLOWED.get(element.tag, set()), (element.tag, child.tag)
        check_verbs(child)


@pytest.mark.parametrize(
    "twiml",
    [
        voice_menu.menu(
            ["Pour parler à une personne, tapez 3."], action="/voice/inbound/menu", before=["Bonjour"]
        ),
        voice_menu.goodbye("Au revoir."),
        voice_menu.connect("Merci de patienter.", "+33639985555", caller_id="+33539980001", action="/x"),
        voice_menu.record("Après le bip…", action="/m", status_callback="/s"),
    ],
)
def test_every_answer_uses_twilio_s_voice_verbs_only_in_french(twiml):
    root = parsed(twiml)

    assert root.tag == "Response"
    check_verbs(root)
    for say in root.iter("Say"):
        assert (say.get("voice"), say.get("language")) == ("Polly.Lea", "fr-FR")


def test_a_menu_gathers_one_key_or_french_speech_and_always_calls_back():
    gather = parsed(voice_menu.menu(["x"], action="/voice/inbound/menu")).find("Gather")

    assert gather.attrib == {
        "input": "dtmf speech",
        "language": "fr-FR",
        "numDigits": "1",
        "hints": voice_menu.HINTS,
        "speechModel": "numbers_and_commands",
        "timeout": "6",
        "action": "/voice/inbound/menu",
        "method": "POST",
        "actionOnEmptyResult": "true",
    }


def test_names_are_escaped_by_the_library():
    twiml = voice_menu.goodbye("Bonjour <Jeanne> & Cie")

    assert "&lt;Jeanne&gt; &amp; Cie" in twiml
    assert parsed(twiml).find("Hangup") is not None


@pytest.mark.parametrize(
    ("digits", "speech", "key"),
    [
        ("3", "", "3"),
        ("3", "non", "3"),  # the keypad wins
        ("", "Oui.", "1"),
        ("", "non merci", "2"),
        ("", "je voudrais parler à une personne", "3"),
        ("", "répéter s'il vous plaît", "9"),
        ("", "deux", "2"),
        ("", "euh", None),
        ("", "", None),
        ("#", "", None),
    ],
)
def test_keys_and_french_words(digits, speech, key):
    assert voice_menu.choice_of(digits, speech) == key


@pytest.mark.parametrize(
    ("moment", "said"),
    [
        (datetime(2026, 11, 24, 8, 20, tzinfo=UTC), "mardi 24 novembre à 9 heures 20"),
        (datetime(2026, 11, 24, 11, 0, tzinfo=UTC), "mardi 24 novembre à midi"),
        (datetime(2026, 7, 1, 12, 5, tzinfo=UTC), "mercredi 1 juillet à 14 heures 5"),  # summer time
        (datetime(2026, 11, 24, 0, 0, tzinfo=UTC), "mardi 24 novembre à 1 heure"),
    ],
)
def test_times_are_said_in_paris_time_as_a_french_voice_reads_them(moment, said):
    assert voice_menu.spoken_when(moment) == said


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("05 65 12 34 56", "+33565123456"),
        ("+33 (0)6 12 34 56 78", "+33612345678"),
        ("0033565123456", "+33565123456"),
        ("06.12.34.56.7", None),
        ("00 12 34 56 78", None),
        ("", None),
    ],
)
def test_any_french_number_is_read_in_e164(typed, e164):
    assert french_number(typed) == e164


def test_the_same_line_written_two_ways_is_the_same_number():
    assert same_number("05 39 98 00 01", "+33539980001")
    assert not same_number("05 39 98 00 01", "+33539980002")
    assert not same_number(None, "")
