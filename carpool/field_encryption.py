"""Secrets kept in the database (coordinators' second-factor keys) encrypted at rest.

Why: a database dump (a backup, a leaked replica) must not hand over every coordinator's
second factor. Values are Fernet tokens (AES-CBC + HMAC, from ``cryptography``) behind a
``fernet:`` marker, so a value written before encryption existed is still read (in clear)
until ``carpool db upgrade`` seals it.

The keys: FIELD_ENCRYPTION_KEYS (comma-separated Fernet keys; the first encrypts, all
decrypt: rotation), then a key derived from SECRET_KEY with HKDF, which always decrypts too:
setting FIELD_ENCRYPTION_KEYS for the first time locks nobody out.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from carpool.errors import StartupError

MARKER = "fernet:"
#: HKDF's context: a key derived for the second factor is good for nothing else.
TOTP_CONTEXT = b"carpool totp v1"


class UnreadableSecret(Exception):
    """A sealed value no configured key opens (SECRET_KEY or FIELD_ENCRYPTION_KEYS changed)."""


def derived_key(secret_key: str, context: bytes = TOTP_CONTEXT) -> bytes:
    """A Fernet key drawn from SECRET_KEY for one use (``context``)."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=context)
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


def parse_keys(value: str) -> tuple[str, ...]:
    """FIELD_ENCRYPTION_KEYS as a tuple of Fernet keys; a StartupError sentence for a bad one."""
    keys = tuple(key.strip() for key in value.split(",") if key.strip())
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, binascii.Error):
            raise StartupError(
                f"FIELD_ENCRYPTION_KEYS : la clé n° {position} n'est pas une clé Fernet "
                "(44 caractères, créée par Fernet.generate_key())."
            ) from None
    return keys


class SecretBox:
    """Seals values for the database and opens them again, with a ring of keys."""

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise ValueError("at least one key")
        self._primary = Fernet(keys[0])
        self._ring = MultiFernet([Fernet(key) for key in keys])

    @classmethod
    def from_settings(cls, secret_key: str, field_keys: Sequence[str] = ()) -> SecretBox:
        return cls([*field_keys, derived_key(secret_key)])

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SecretBox:
        """The box of an app's (or a command's) resolved config: SECRET_KEY, FIELD_ENCRYPTION_KEYS."""
        return cls.from_settings(str(config["SECRET_KEY"]), tuple(config.get("FIELD_ENCRYPTION_KEYS") or ()))

    def seal(self, clear: str) -> str:
        """What the database keeps: the marker and a token of the first key."""
        return MARKER + self._primary.encrypt(clear.encode()).decode("ascii")

    def open(self, stored: str) -> str:
        """The clear value; an unmarked value is one written before encryption and read as is."""
        if not is_sealed(stored):
            return stored
        try:
            return self._ring.decrypt(_token(stored)).decode()
        except InvalidToken:
            raise UnreadableSecret() from None

    def needs_sealing(self, stored: str) -> bool:
        """True for a clear value or one sealed by another key than the first (rotation);
        raises UnreadableSecret when no key opens it."""
        if not is_sealed(stored):
            return True
        try:
            self._primary.decrypt(_token(stored))
            return False
        except InvalidToken:
            self.open(stored)  # readable by an older key, or UnreadableSecret
            return True


def is_sealed(stored: str) -> bool:
    return stored.startswith(MARKER)


def _token(stored: str) -> bytes:
    return stored.removeprefix(MARKER).encode("ascii", errors="replace")  # garbage: InvalidToken
