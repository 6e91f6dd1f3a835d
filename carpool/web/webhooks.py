"""The one check every Twilio webhook makes (/sms/*, /voice/*): is this request Twilio's?

With ``TWILIO_AUTH_TOKEN`` set, ``X-Twilio-Signature`` must sign this exact public URL
and these form fields (a missing header is a forgery); without a token (console
backend, development) only requests from this machine are accepted.
"""

from __future__ import annotations

import ipaddress

from flask import current_app, request

from carpool.notify.signature import valid_twilio_signature


def from_twilio() -> bool:
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    if token:
        form = request.form.to_dict(flat=True)
        return valid_twilio_signature(token, request.url, form, request.headers.get("X-Twilio-Signature"))
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False
