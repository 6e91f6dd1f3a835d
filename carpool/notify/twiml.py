"""TwiML for calls, built with the twilio library (never by string concatenation).

Every word said goes through ``VoiceResponse``, which escapes it: a resident's or a
driver's name cannot inject a verb. Slow, clear French: Amazon Polly's Léa voice,
``fr-FR``, a little slower than normal, the message said twice before the menu.
"""

from __future__ import annotations

from typing import Any

VOICE = "Polly.Lea"
LANGUAGE = "fr-FR"
RATE = "90%"
#: Twilio's speech models changed in 2025: pinned for stable recognition of "oui"/"non".
SPEECH_MODEL = "phone_call"
HINTS = "oui, non, répéter, une personne"

QUESTION_MENU = (
    "Pour dire oui, tapez 1 ou dites oui. Pour dire non, tapez 2 ou dites non. "
    "Pour réécouter, tapez 9. Pour parler à une personne, tapez 0."
)
NOTICE_MENU = "Pour réécouter, tapez 9. Pour parler à une personne, tapez 0. Sinon, vous pouvez raccrocher."


def _response() -> Any:
    from twilio.twiml.voice_response import VoiceResponse

    return VoiceResponse()


def _say(verb: Any, text: str) -> None:
    verb.say(voice=VOICE, language=LANGUAGE).prosody(text, rate=RATE)


def _menu(response: Any, action_url: str, words: str, *, on_silence: bool) -> None:
    """One key (or "oui", "non"…) posted to ``action_url``; ``on_silence`` posts a silence too."""
    gather = response.gather(
        input="dtmf speech",
        language=LANGUAGE,
        num_digits=1,
        hints=HINTS,
        speech_model=SPEECH_MODEL,
        timeout=6,
        action=action_url,
        method="POST",
        action_on_empty_result=on_silence,
    )
    _say(gather, words)


def message(greeting: str, text: str, *, question: bool, action_url: str) -> str:
    """The notice said twice, then a keypad-and-speech menu whose answer goes to ``action_url``."""
    response = _response()
    _say(response, f"{greeting} {text}")
    response.pause(length=1)
    _say(response, f"Je répète. {text}")
    _menu(response, action_url, QUESTION_MENU if question else NOTICE_MENU, on_silence=True)
    return str(response)


def option(before: list[str], text: str, menu_words: str, *, action_url: str) -> str:
    """One option of a proposal: ``before`` then the option, said whole, then its keypad menu."""
    response = _response()
    for line in before:
        _say(response, line)
    _say(response, text)
    response.pause(length=1)
    _menu(response, action_url, menu_words, on_silence=True)
    return str(response)


def menu_again(text: str, *, question: bool, action_url: str, menu_words: str | None = None) -> str:
    """After an answer not understood: the menu once more (``menu_words`` instead of the usual one)."""
    response = _response()
    words = menu_words or (QUESTION_MENU if question else NOTICE_MENU)
    _menu(response, action_url, f"{text} {words}", on_silence=False)
    _say(response, "Nous n'avons pas eu de réponse. Au revoir.")
    response.hangup()
    return str(response)


def say_and_hang_up(*lines: str) -> str:
    response = _response()
    for line in lines:
        _say(response, line)
    response.hangup()
    return str(response)


def dial(phone: str | None, caller_id: str | None = None) -> str:
    """Put the person through to ``phone``; without a number, say how to reach the association."""
    response = _response()
    if not phone:
        _say(response, "Personne n'est joignable pour le moment. Merci de rappeler l'association. Au revoir.")
        response.hangup()
        return str(response)
    _say(response, "Je vous mets en relation avec l'association. Merci de patienter.")
    if caller_id:
        response.dial(phone, caller_id=caller_id, timeout=30)
    else:
        response.dial(phone, timeout=30)
    return str(response)


def hang_up() -> str:
    response = _response()
    response.hangup()
    return str(response)
