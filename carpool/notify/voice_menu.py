"""TwiML for calls to the association's number, built with twilio's ``VoiceResponse`` only.

No TwiML by string concatenation: every spoken word (names included) goes through the
library, which escapes it. One French voice (``Polly.Lea``), a little slower than usual;
every menu is a ``<Gather>`` that takes the keypad and French speech.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from carpool.clock import MONTHS, PARIS, WEEKDAYS

VOICE = "Polly.Lea"
LANGUAGE = "fr-FR"
#: Slow and clear for older listeners (SSML prosody, which Polly voices honour).
RATE = "90%"
#: Words the recogniser should expect in a menu: digits spoken and yes/no.
HINTS = "un, deux, trois, quatre, neuf, oui, non, répéter, une personne"
#: Short commands, not dictation: a pinned model keeps recognition stable (models change).
SPEECH_MODEL = "numbers_and_commands"
GATHER_TIMEOUT_S = 6
DIAL_TIMEOUT_S = 25
RECORD_MAX_S = 120

_SPOKEN_CHOICES = {
    "1": ("1", "un", "une", "oui", "ouais", "d'accord", "prochains", "trajets", "passager", "conducteur"),
    "2": ("2", "deux", "non", "proposition"),
    "3": ("3", "trois", "personne", "quelqu'un", "coordinateur", "coordinatrice", "parler"),
    "4": ("4", "quatre"),
    "9": ("9", "neuf", "répéter", "repeter", "encore", "recommencer"),
}


def choice_of(digits: str, speech: str) -> str | None:
    """The menu key pressed, or said in French ("oui" is 1, "non" is 2, "répéter" is 9); None if neither.

    The keypad wins over speech. Words are tried in an order where the clearer wish wins:
    "non merci" is 2, "parler à une personne" is 3 (not the 1 of "une").
    """
    pressed = digits.strip()[:1]
    if pressed and pressed in "0123456789":
        return pressed
    words = speech.lower().replace(".", " ").replace(",", " ").replace("!", " ").replace("?", " ").split()
    for key in ("2", "9", "3", "4", "1"):
        if any(word in _SPOKEN_CHOICES[key] for word in words):
            return key
    return None


def spoken_day(day: date) -> str:
    """ "mardi 24 novembre" (the year is obvious on the phone)."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"


def spoken_time(moment: datetime) -> str:
    """ "9 heures 20", "midi", "14 heures" in Paris time: what a French voice reads naturally."""
    at = moment.astimezone(PARIS)
    if (at.hour, at.minute) == (12, 0):
        return "midi"
    hours = "1 heure" if at.hour == 1 else f"{at.hour} heures"
    return hours if at.minute == 0 else f"{hours} {at.minute}"


def spoken_when(moment: datetime) -> str:
    return f"{spoken_day(moment.astimezone(PARIS).date())} à {spoken_time(moment)}"


def _response() -> object:
    from twilio.twiml.voice_response import VoiceResponse

    return VoiceResponse()


def _say(verb: object, text: str) -> None:
    said = verb.say("", voice=VOICE, language=LANGUAGE)  # type: ignore[attr-defined]
    said.prosody(text, rate=RATE)


def menu(lines: Iterable[str], *, action: str, before: Iterable[str] = ()) -> str:
    """``before`` said once, then ``lines`` inside a Gather posting to ``action`` (even when silent)."""
    response = _response()
    for text in before:
        _say(response, text)
    gather = response.gather(  # type: ignore[attr-defined]
        input="dtmf speech",
        language=LANGUAGE,
        num_digits=1,
        hints=HINTS,
        speech_model=SPEECH_MODEL,
        timeout=GATHER_TIMEOUT_S,
        action=action,
        method="POST",
        action_on_empty_result=True,
    )
    for text in lines:
        _say(gather, text)
    return str(response)


def goodbye(*lines: str) -> str:
    """Say ``lines`` and hang up."""
    response = _response()
    for text in lines:
        _say(response, text)
    response.hangup()  # type: ignore[attr-defined]
    return str(response)


def connect(intro: str, number: str, *, caller_id: str, action: str) -> str:
    """Bridge the caller to ``number``, showing the association's number (``caller_id``), never the caller's.

    ``action`` hears how it ended (``DialCallStatus``): no answer leads to a voice message.
    """
    response = _response()
    _say(response, intro)
    dial = response.dial(caller_id=caller_id, action=action, method="POST", timeout=DIAL_TIMEOUT_S)  # type: ignore[attr-defined]
    dial.number(number)
    return str(response)


def record(intro: str, *, action: str, status_callback: str) -> str:
    """A voice message of at most two minutes after a beep; ``status_callback`` hears when it is ready."""
    response = _response()
    _say(response, intro)
    response.record(  # type: ignore[attr-defined]
        max_length=RECORD_MAX_S,
        play_beep=True,
        finish_on_key="#",
        timeout=5,
        action=action,
        method="POST",
        recording_status_callback=status_callback,
        recording_status_callback_method="POST",
        recording_status_callback_event="completed",
    )
    _say(response, "Nous n'avons pas entendu de message. Au revoir.")
    return str(response)
