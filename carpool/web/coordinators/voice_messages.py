"""Voice messages on the first page: listen (through this server), "Rappeler", "Fait".

The audio is fetched from Twilio with the account's credentials for a coordinator of
the message's association only (``scoped``: another association's message is a 404),
and never cached by the browser.
"""

from __future__ import annotations

from flask import Response, abort, current_app
from werkzeug.wrappers import Response as BaseResponse

from carpool.config import TWILIO_API
from carpool.errors import InvalidInput
from carpool.extensions import db_session
from carpool.models import VoiceMessage
from carpool.notify.recordings import (
    DEMO_NO_SOUND,
    RecordingUnavailable,
    fetch_recording,
    is_demo_recording,
)
from carpool.services import voice_messages
from carpool.web.coordinators import bp
from carpool.web.coordinators.common import (
    clock,
    coordinator_required,
    me,
    posted,
    record,
    refused,
    saved,
    scoped,
)


@bp.get("/messages-vocaux/<int:voice_message_id>/ecoute")
@coordinator_required
def voice_message_audio(voice_message_id: int) -> Response:
    message = scoped(VoiceMessage, voice_message_id)
    if message.recording_sid is None or message.forgotten_at is not None:
        abort(404)  # forgotten: retention period over, or the resident erased
    if is_demo_recording(message.recording_sid):  # the demo's: no audio anywhere, said in a sentence
        record("voice.listened", message)
        db_session().commit()
        return _sentence(DEMO_NO_SOUND, 200)
    config = current_app.config
    try:
        audio = fetch_recording(
            message.recording_sid,
            account_sid=str(config.get("TWILIO_ACCOUNT_SID") or ""),
            auth_token=str(config.get("TWILIO_AUTH_TOKEN") or ""),
            api_base_url=str(config.get("TWILIO_API_BASE_URL") or TWILIO_API),
        )
    except RecordingUnavailable:
        # Deleted at Twilio, Twilio not configured or unreachable: a sentence, not an error page.
        return _sentence(UNAVAILABLE, 404)
    record("voice.listened", message)
    db_session().commit()
    return Response(
        audio.content,
        mimetype=audio.mimetype,
        headers={"Cache-Control": "private, no-store", "Content-Disposition": "inline"},
    )


UNAVAILABLE = "Enregistrement indisponible pour le moment : rappelez la personne, ou réessayez plus tard."


def _sentence(text: str, status: int) -> Response:
    """What the player's link shows instead of audio: one French sentence, never cached."""
    return Response(
        text + "\n",
        status=status,
        mimetype="text/plain",
        headers={"Cache-Control": "private, no-store"},
    )


@bp.post("/messages-vocaux/<int:voice_message_id>/fait")
@coordinator_required
def voice_message_handled(voice_message_id: int) -> BaseResponse:
    message = posted(VoiceMessage, voice_message_id)
    done = voice_messages.mark_handled(db_session(), message, user_id=me().id, clock=clock())
    return saved(
        "Message vocal traité : il n'est plus dans la liste."
        if done
        else "Ce message vocal était déjà traité.",
        "coord.today",
    )


@bp.post("/messages-vocaux/<int:voice_message_id>/rappeler")
@coordinator_required
def voice_message_callback(voice_message_id: int) -> BaseResponse:
    message = posted(VoiceMessage, voice_message_id)
    try:
        planned = voice_messages.plan_callback(db_session(), message, user_id=me().id, clock=clock())
    except InvalidInput as error:
        return refused(error, "coord.today")
    return saved(
        "C'est noté : le numéro à rappeler est affiché avec le message vocal."
        if planned
        else "Ce message vocal est déjà pris en charge : rappel prévu, ou traité.",
        "coord.today",
        _anchor=f"voice-message-{voice_message_id}",
    )
