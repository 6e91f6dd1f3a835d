"""Phone numbers out of logs: a keyed reference, a masked form and a log filter.

Residents' numbers are personal data tied to health trips (see NOTES, GDPR): logs
keep them 6–12 months and are read by more people than the database, so nothing
we log may carry a number in clear. ``phone_ref`` lets two log lines be matched
to the same person without revealing who; ``mask`` is for people reading a line.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re

BULLETS = "•• •• ••"

# E.164 (+ or 00, then 6–15 digits: mistyped short numbers are hidden too; separators allowed)
# or French national (0X XX XX XX XX). The look-arounds leave SIDs, ids and timestamps intact.
_PHONE = re.compile(
    r"(?<![\w+])"
    r"(?:\+|00)\d(?:[ .\-]?\d){5,14}(?![\d])"
    r"|(?<![\w+])0[1-9](?:[ .\-]?\d{2}){4}(?![\d])"
)


def _digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)


def normalise(phone: str) -> str:
    """E.164 for a French or international number as people write it (best effort)."""
    digits = _digits(phone)
    if phone.strip().startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if len(digits) == 10 and digits.startswith("0"):
        return "+33" + digits[1:]
    return "+" + digits if digits else ""


def mask(phone: str) -> str:
    """``+33 6 •• •• •• 78``: enough to tell a landline from a mobile, not enough to call."""
    e164 = normalise(phone)
    if e164.startswith("+33") and len(e164) == 12:
        return f"+33 {e164[3]} {BULLETS} {e164[-2:]}"
    if len(e164) < 6:
        return "+•••"
    return f"{e164[:3]} {BULLETS} {e164[-2:]}"


def phone_ref(phone: str, key: str | bytes) -> str:
    """A stable pseudonym (``tel:`` + 10 hex of HMAC-SHA256): joins log lines, reveals nothing."""
    secret = key.encode() if isinstance(key, str) else key
    digest = hmac.new(secret, normalise(phone).encode(), hashlib.sha256).hexdigest()
    return f"tel:{digest[:10]}"


def mask_text(text: str) -> str:
    """Every phone number in ``text`` replaced by its masked form (provider errors quote them)."""
    return _PHONE.sub(lambda match: mask(match.group(0)), text)


class PhoneMaskFilter(logging.Filter):
    """Masks phone numbers in a record's message and traceback, whoever logged it.

    Attach it to handlers (``install``), not loggers: a logger's filters do not see
    records propagated from its children, such as the twilio client's.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        return True


def install(logger: logging.Logger | None = None) -> PhoneMaskFilter:
    """Add the filter to every handler of ``logger`` (the root logger by default)."""
    target = logger or logging.getLogger()
    phone_filter = PhoneMaskFilter()
    for handler in target.handlers:
        if not any(isinstance(f, PhoneMaskFilter) for f in handler.filters):
            handler.addFilter(phone_filter)
    return phone_filter
