"""Proving a driver's phone at sign-up: a 6-digit code by SMS, short-lived, few tries, used once.

Without it anyone could make the service text any number (SMS pumping, issue 15) or
sign up with somebody else's phone. Codes sent are limited per phone and per client
(counters in the database, as the reply budgets); only a salted digest of the code
is stored, and a code stops working after ``MAX_ATTEMPTS`` wrong tries or
``CODE_TTL``. A proven phone serves one sign-up, within ``PROOF_TTL``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import Clock
from carpool.errors import InvalidInput
from carpool.models import Driver, PhoneVerification
from carpool.notify.budget import Verdict, hour_window, number_key, take
from carpool.notify.compose import render
from carpool.notify.outbox import enqueue
from carpool.text import normalise_mobile

CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
CODES_PER_PHONE_HOUR = 3
CODES_PER_CLIENT_HOUR = 10
PROOF_TTL = timedelta(hours=1)
ACCOUNT_EXISTS = (
    "Un compte existe déjà avec ce numéro : connectez-vous ou choisissez « mot de passe oublié »."
)
TOO_MANY_CODES = "Trop de codes ont été demandés : réessayez dans une heure."


def phone_has_account(session: Session, phone: str) -> bool:
    """One driver account per phone number."""
    return session.scalar(sa.select(Driver.id).where(Driver.phone == phone).limit(1)) is not None


def send_code(session: Session, phone_text: str, client: str, clock: Clock) -> PhoneVerification:
    """Queue a new code to this French mobile; raises InvalidInput (field ``phone``) when refused."""
    phone = normalise_mobile(phone_text)
    if phone_has_account(session, phone):
        raise InvalidInput.on("phone", ACCOUNT_EXISTS)
    now = clock.now()
    window = hour_window(now)
    for key, limit in (
        (number_key("signup-phone", phone), CODES_PER_PHONE_HOUR),
        (number_key("signup-client", client), CODES_PER_CLIENT_HOUR),
    ):
        if take(session, key, limit, window) is not Verdict.GRANTED:
            raise InvalidInput.on("phone", TOO_MANY_CODES)
    code = f"{secrets.randbelow(1_000_000):06d}"
    verification = PhoneVerification(
        phone=phone, code_hash=_hash(code), expires_at=now + CODE_TTL, attempts=0
    )
    session.add(verification)
    session.flush()
    minutes = int(CODE_TTL.total_seconds() // 60)
    enqueue(
        session, f"signup-code:{verification.id}", phone, render("signup_code", code=code, minutes=minutes)
    )
    return verification


def confirm_code(session: Session, verification_id: int, code: str, now: datetime) -> str | None:
    """Check a typed code; None when right, else the French message to show.

    Each try is counted by one guarded UPDATE (concurrent tries cannot exceed the
    limit); the caller commits in both cases, so a wrong try is never forgotten.
    """
    table = cast(sa.Table, PhoneVerification.__table__)
    tried = session.execute(
        sa.update(table)
        .where(
            table.c.id == verification_id,
            table.c.verified_at.is_(None),
            table.c.attempts < MAX_ATTEMPTS,
            table.c.expires_at > now,
        )
        .values(attempts=table.c.attempts + 1)
        .returning(table.c.code_hash, table.c.attempts)
    ).first()
    if tried is None:
        return "Ce code n'est plus valable : demandez-en un nouveau."
    code_hash: str = tried.code_hash
    attempts: int = tried.attempts
    if not _matches(code_hash, code.strip()):
        left = MAX_ATTEMPTS - attempts
        if left <= 0:
            return "Ce code n'est pas le bon et il n'est plus valable : demandez-en un nouveau."
        return f"Ce code n'est pas le bon. Il vous reste {left} essai{'s' if left > 1 else ''}."
    session.execute(sa.update(table).where(table.c.id == verification_id).values(verified_at=now))
    session.expire_all()
    return None


def proven_phone(session: Session, verification_id: int | None, now: datetime) -> str | None:
    """The phone this verification proved, if it may still serve a sign-up."""
    if verification_id is None:
        return None
    verification = session.get(PhoneVerification, verification_id)
    if verification is None or verification.verified_at is None or verification.used_at is not None:
        return None
    return verification.phone if verification.verified_at > now - PROOF_TTL else None


def use_proof(session: Session, verification_id: int | None, phone: str, now: datetime) -> bool:
    """Spend the proof on one sign-up (one guarded UPDATE: two sign-ups cannot share it)."""
    if verification_id is None:
        return False
    used: sa.CursorResult[Any] = session.execute(  # type: ignore[assignment]
        sa.update(PhoneVerification)
        .where(
            PhoneVerification.id == verification_id,
            PhoneVerification.phone == phone,
            PhoneVerification.verified_at.is_not(None),
            PhoneVerification.verified_at > now - PROOF_TTL,
            PhoneVerification.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(used.rowcount)


def _hash(code: str) -> str:
    salt = secrets.token_hex(8)
    return f"{salt}${hashlib.sha256((salt + code).encode()).hexdigest()}"


def _matches(code_hash: str, code: str) -> bool:
    salt, _, digest = code_hash.partition("$")
    return hmac.compare_digest(digest, hashlib.sha256((salt + code).encode()).hexdigest())
