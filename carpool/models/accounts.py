"""Secrets attached to a web log-in: one-time password-reset links and API tokens.

Only a SHA-256 digest of each secret is stored: a copy of the database gives
no way in. The secrets are long random strings, so a fast hash is enough.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from carpool.models.base import Base, Timestamped


class PasswordResetToken(Timestamped, Base):
    """A link sent by SMS to choose a new password: single use, short-lived."""

    __tablename__ = "password_reset_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class PasswordResetRequest(Base):
    """A "mot de passe oublié" form sent, known e-mail or not, by client address (a keyed hash,
    never the address): the per-client limit on reset requests, shared by every worker."""

    __tablename__ = "password_reset_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    client_hash: Mapped[str] = mapped_column(sa.String(64), index=True)


class ApiToken(Timestamped, Base):
    """A bearer token for the JSON API, created and revoked by its owner; it expires, and a
    password change, a reset or a log-out revokes every token of the account."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Set at creation (API_TOKEN_TTL_DAYS); a token without one (none should exist) never works.
    expires_at: Mapped[datetime | None]


class PhoneVerification(Timestamped, Base):
    """A 6-digit code sent by SMS to prove a sign-up's phone: short-lived, few tries, used once.

    Only a salted digest of the code is stored; it expires within minutes, long before
    a copy of the database could be put to use.
    """

    __tablename__ = "phone_verification"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(sa.String(16), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(100))  # "<salt hex>$<sha256 hex>"
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    verified_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]
