"""Calls to the association's number: ``POST /voice/inbound`` and the steps Twilio posts next.

Signatures are checked as for the SMS webhooks (``carpool.web.webhooks.from_twilio``): 403
when missing or forged while TWILIO_AUTH_TOKEN is set, loopback only without it.
Every answer is TwiML; bad or unknown input gets a polite goodbye (200), never a 500,
and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, abort, current_app, request, url_for

from carpool.extensions import db_session
from carpool.services import voice_line, voice_options
from carpool.services.sms_inbound import printable
from carpool.web.voice import bp
from carpool.web.webhooks import from_twilio

TWIML = "application/xml"


def _twiml(body: str) -> Response:
    db_session().commit()
    return Response(body, mimetype=TWIML)


def _field(name: str, size: int = 64) -> str:
    return printable(request.form.get(name, "")).strip()[:size]


def _urls() -> voice_line.Urls:
    return voice_line.Urls(
        menu=url_for("voice.inbound_menu"),
        proposal=url_for("voice.inbound_proposal"),
        dial_end=url_for("voice.inbound_dial_end"),
        recorded=url_for("voice.inbound_recorded"),
        recording_status=url_for("voice.inbound_recording"),
    )


def _checked() -> None:
    if not from_twilio():
        abort(403)


def _clock():  # type: ignore[no-untyped-def]
    return current_app.extensions["carpool.clock"]


@bp.post("/inbound")
def inbound() -> Response:
    """A call comes in: greeting by name when the number is known, then the keypad menu."""
    _checked()
    from carpool.notify import voice_menu

    call_sid, caller, called = _field("CallSid"), _field("From", 20), _field("To", 20)
    if not call_sid or not caller:
        return _twiml(voice_menu.goodbye(voice_line.GOODBYE))  # Twilio always sends both
    return _twiml(
        voice_line.answer(
            db_session(),
            call_sid=call_sid,
            from_phone=caller,
            to_phone=called,
            clock=_clock(),
            urls=_urls(),
            calls_per_hour=current_app.config["VOICE_CALLS_PER_NUMBER_HOUR"],
        )
    )


@bp.post("/inbound/menu")
def inbound_menu() -> Response:
    """A key (or a word) of the main menu."""
    return _keyed(voice_line.choose)


@bp.post("/inbound/proposition")
def inbound_proposal() -> Response:
    """1 / 2 / 9 to the option of the pending proposal read (``?option=<k>&proposition=<digest>``)."""
    option = voice_options.option_ref(
        request.args.get("option", "")[:4], request.args.get("proposition", "")[:32]
    )
    return _keyed(voice_line.answer_proposal, option=option)


def _keyed(step: Callable[..., str], **more: object) -> Response:
    """A <Gather> action: Twilio posts the key pressed (``Digits``) or the words heard (``SpeechResult``)."""
    _checked()
    return _twiml(
        step(
            db_session(),
            call_sid=_field("CallSid"),
            digits=_field("Digits", 4),
            speech=_field("SpeechResult", 200),
            clock=_clock(),
            urls=_urls(),
            **more,
        )
    )


@bp.post("/inbound/fin-appel")
def inbound_dial_end() -> Response:
    _checked()
    return _twiml(
        voice_line.dial_ended(
            db_session(), call_sid=_field("CallSid"), status=_field("DialCallStatus", 20), urls=_urls()
        )
    )


@bp.post("/inbound/message")
def inbound_recorded() -> Response:
    _checked()
    return _twiml(voice_line.recorded())


@bp.post("/inbound/enregistrement")
def inbound_recording() -> Response:
    """Twilio's recording status callback: a finished voice message is kept once."""
    _checked()
    duration = _field("RecordingDuration", 6)
    voice_line.store_recording(
        db_session(),
        call_sid=_field("CallSid"),
        recording_sid=_field("RecordingSid"),
        duration_s=int(duration) if duration.isdigit() else 0,
        status=_field("RecordingStatus", 20),
        clock=_clock(),
    )
    db_session().commit()
    return Response("", status=204)
