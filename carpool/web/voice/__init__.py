"""Twilio Voice webhooks: calls placed to residents and calls from them."""

from flask import Blueprint

bp = Blueprint("voice", __name__, url_prefix="/voice")

from carpool.web.voice import inbound, outbound  # noqa: E402,F401
