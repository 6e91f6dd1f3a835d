"""Twilio webhooks: inbound SMS and delivery status.

Signatures are checked whenever TWILIO_AUTH_TOKEN is set, whatever the backend;
without a token (console backend only: the twilio one refuses to start) the webhooks
only accept requests from this machine (loopback).
The answer is an empty TwiML document: replies leave through the outbox.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, abort, current_app, request

from carpool.errors import StartupError
from carpool.extensions import csrf, db_session
from carpool.web.webhooks import from_twilio

bp = Blueprint("sms", __name__, url_prefix="/sms")
log = logging.getLogger(__name__)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def init_app(app: Flask) -> None:
    """Register the webhooks; with real SMS, refuse to start unless their signatures can be checked.

    Without a token they trust loopback requests, and behind a proxy on the same machine
    every request comes from loopback: anyone could post an SMS "from" any number.
    """
    if not app.config.get("TWILIO_AUTH_TOKEN"):
        if app.config.get("SMS_BACKEND") == "twilio":
            raise StartupError(
                "SMS_BACKEND=twilio demande aussi TWILIO_AUTH_TOKEN : sans lui, les webhooks SMS "
                "ne peuvent pas vérifier que les requêtes viennent de Twilio."
            )
        log.warning(
            "TWILIO_AUTH_TOKEN absent : les webhooks SMS n'acceptent que les requêtes locales (127.0.0.1)"
        )
    csrf.exempt(bp)
    app.register_blueprint(bp)


def _twiml() -> Response:
    return Response(EMPTY_TWIML, mimetype="application/xml")


@bp.post("/inbound")
def inbound() -> Response:
    if not from_twilio():
        abort(403)
    from carpool.notify.budget import ReplyLimits
    from carpool.services.sms_inbound import handle_inbound, printable

    sid = printable(request.form.get("MessageSid", "")).strip()
    sender = printable(request.form.get("From", "")).strip()
    if not sid or not sender.startswith("+") or len(sender) > 16:
        return _twiml()  # nothing to answer to: Twilio always sends both
    handle_inbound(
        db_session(),
        message_sid=sid[:64],
        from_phone=sender,
        to_phone=printable(request.form.get("To", "")),
        body=request.form.get("Body", ""),
        clock=current_app.extensions["carpool.clock"],
        limits=ReplyLimits(
            per_number_hour=current_app.config["SMS_REPLY_BUDGET_PER_NUMBER"],
            global_hour=current_app.config["SMS_REPLY_BUDGET_GLOBAL"],
        ),
    )
    db_session().commit()
    return _twiml()


@bp.post("/status")
def status() -> Response:
    """Twilio's delivery report for one outbox row (``?outbox=<id>`` is in the callback URL)."""
    if not from_twilio():
        abort(403)
    from carpool.notify.dispatcher import record_status

    outbox_id = request.args.get("outbox", "")
    sid = request.form.get("MessageSid", "").strip()[:64]
    state = request.form.get("MessageStatus", "").strip()[:20]
    if outbox_id.isdigit() and sid and state:
        record_status(
            db_session(),
            int(outbox_id),
            sid,
            state,
            error_code=request.form.get("ErrorCode") or None,
            now=current_app.extensions["carpool.clock"].now(),
        )
        db_session().commit()
    return Response("", status=204)
