"""Twilio webhook signatures (the SDK's validator, imported lazily: notify/ owns twilio)."""

from __future__ import annotations

from collections.abc import Mapping


def valid_twilio_signature(
    auth_token: str, url: str, params: Mapping[str, str], signature: str | None
) -> bool:
    """True only for a request Twilio signed for exactly this public URL and these form fields."""
    if not signature:
        return False  # the SDK raises TypeError on None: a missing header is simply invalid
    from twilio.request_validator import RequestValidator

    return bool(RequestValidator(auth_token).validate(url, dict(params), signature))
