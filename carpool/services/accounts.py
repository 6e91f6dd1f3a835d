"""Web log-ins: Argon2id passwords, sessions voided server-side, one-time links, API tokens,
log-in throttles (per account and per client address) and an optional TOTP second factor.

Role-generic: drivers and coordinators log in the same way.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import pyotp
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from carpool.clock import Clock
from carpool.models import (
    ApiToken,
    AuditEvent,
    Driver,
    LoginFailure,
    PasswordResetRequest,
    PasswordResetToken,
    UserAccount,
)
from carpool.services import audit
from carpool.services.validation import InvalidInput

_hasher = PasswordHasher()  # Argon2id with the library's recommended parameters


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# --- log-in, sessions, one-time links and API tokens (role-generic) ------------------------


#: Argon2 hash of a random password: verifying against it when the e-mail is unknown
#: takes as long as a real check, so timing does not reveal which e-mails have an account.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
MIN_PASSWORD_LENGTH = 10
API_TOKEN_PREFIX = "cps_"  # noqa: S105 - a marker, not a secret


def digest(secret: str) -> str:
    """How one-time links and API tokens are stored: their SHA-256, never the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def password_problem(password: str) -> str | None:
    """A plain-French reason the password is refused, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Choisissez un mot de passe d'au moins {MIN_PASSWORD_LENGTH} caractères."
    if len(password) > 200:
        return "Ce mot de passe est trop long (200 caractères au plus)."
    return None


class TooManyAttempts(Exception):
    """Too many wrong passwords for this account lately: wait before trying again."""


#: Wrong passwords allowed per account within LOGIN_WINDOW before log-ins are refused for a while.
MAX_FAILED_LOGINS = 10
#: Wrong passwords allowed from one client address (any e-mail) within LOGIN_WINDOW.
MAX_FAILED_LOGINS_PER_CLIENT = 30
LOGIN_WINDOW = timedelta(minutes=15)


def authenticate(
    session: Session, email: str, password: str, clock: Clock, *, client: str | None = None
) -> UserAccount | None:
    """The account for this e-mail and password, or None (same time either way).

    Raises TooManyAttempts after MAX_FAILED_LOGINS wrong passwords for the account,
    or MAX_FAILED_LOGINS_PER_CLIENT from ``client`` (a keyed hash of the address,
    never the address), within LOGIN_WINDOW: a password cannot be guessed online,
    nor many accounts tried from one place. The counts live in the database, so
    every worker process sees the same ones. The caller commits, even on failure.
    """
    now = clock.now()
    if client is not None and _client_failures(session, client, now) >= MAX_FAILED_LOGINS_PER_CLIENT:
        raise TooManyAttempts()
    user = session.scalar(sa.select(UserAccount).where(UserAccount.email == email.strip().lower()))
    if user is None:
        verify_password(_DUMMY_HASH, password)
        note_failure(session, client, None, now)
        return None
    if _account_failures(session, user, now) >= MAX_FAILED_LOGINS:
        raise TooManyAttempts()
    if not verify_password(user.password_hash, password):
        note_failure(session, client, user, now)
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = clock.now()
    audit.record(
        session, f"user:{user.id}", "account.login", subject=user, association_id=user.association_id
    )
    return user


def _account_failures(session: Session, user: UserAccount, now: datetime) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.action == "account.login_failed",
            AuditEvent.subject_type == "UserAccount",
            AuditEvent.subject_id == user.id,
            AuditEvent.at > now - LOGIN_WINDOW,
        )
    )
    return int(session.scalar(query) or 0)


def note_failure(session: Session, client: str | None, user: UserAccount | None, now: datetime) -> None:
    """Count a failed log-in (password or second factor) against the account and the client."""
    if client is not None:
        session.add(LoginFailure(at=now, ip_hash=client, account_id=user.id if user else None))
    if user is not None:
        event = audit.record(
            session,
            f"user:{user.id}",
            "account.login_failed",
            subject=user,
            association_id=user.association_id,
        )
        event.at = now


def _client_failures(session: Session, client: str, now: datetime) -> int:
    query = sa.select(sa.func.count()).where(
        LoginFailure.ip_hash == client, LoginFailure.at > now - LOGIN_WINDOW
    )
    return int(session.scalar(query) or 0)


def forget_old_failures(session: Session, now: datetime) -> int:
    """Per-client failures only matter for LOGIN_WINDOW: the retention job deletes the rest."""
    result = session.execute(sa.delete(LoginFailure).where(LoginFailure.at < now - LOGIN_WINDOW))
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- second factor (TOTP, RFC 6238) ---------------------------------------------------------

TOTP_ISSUER = "Covoiturage solidaire"


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(user: UserAccount, secret: str) -> str:
    """The otpauth:// address an authenticator app reads (shown as a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def _totp_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step ``code`` belongs to (this one, or one either side for clock drift), or None."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    for candidate in (step, step - 1, step + 1):
        if secrets.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def enable_totp(session: Session, user: UserAccount, secret: str, code: str, clock: Clock) -> bool:
    """Turn the second factor on once the user proves their app shows the right code."""
    step = _totp_step(secret, code, clock.now())
    if step is None:
        return False
    user.totp_secret, user.totp_last_step = secret, step
    audit.record(
        session, f"user:{user.id}", "account.totp_enabled", subject=user, association_id=user.association_id
    )
    return True


def disable_totp(session: Session, user: UserAccount) -> None:
    user.totp_secret, user.totp_last_step = None, None
    audit.record(
        session, f"user:{user.id}", "account.totp_disabled", subject=user, association_id=user.association_id
    )


def check_totp(
    session: Session, user: UserAccount, code: str, clock: Clock, *, client: str | None = None
) -> bool:
    """The second step of a log-in: a valid code, never used before (a replayed code fails).

    Wrong codes count as failed log-ins (same throttles as passwords); raises TooManyAttempts.
    """
    now = clock.now()
    if client is not None and _client_failures(session, client, now) >= MAX_FAILED_LOGINS_PER_CLIENT:
        raise TooManyAttempts()
    if _account_failures(session, user, now) >= MAX_FAILED_LOGINS:
        raise TooManyAttempts()
    step = _totp_step(user.totp_secret or "", code, now) if user.totp_secret else None
    # Guarded update: two requests racing with the same code cannot both pass.
    if step is not None:
        used = session.execute(
            sa.update(UserAccount)
            .where(
                UserAccount.id == user.id,
                sa.or_(UserAccount.totp_last_step.is_(None), UserAccount.totp_last_step < step),
            )
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        )
        if used.rowcount == 1:  # type: ignore[attr-defined]
            session.refresh(user)
            return True
    note_failure(session, client, user, now)
    return False


def end_sessions(session: Session, user: UserAccount) -> int:
    """Void every session of this account (log-out, password change); returns the new version."""
    session.execute(
        sa.update(UserAccount)
        .where(UserAccount.id == user.id)
        .values(session_version=UserAccount.session_version + 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(user, ["session_version"])
    return user.session_version


def change_password(session: Session, user: UserAccount, new_password: str, *, actor: str) -> None:
    """Set a new password and void every open session (the caller logs the current one back in)."""
    if problem := password_problem(new_password):
        raise InvalidInput.on("password", problem)
    user.password_hash = hash_password(new_password)
    session.flush()
    end_sessions(session, user)
    audit.record(session, actor, "account.password_changed", subject=user, association_id=user.association_id)


#: At most one reset SMS per account in this time: nobody can flood a driver's phone.
RESET_COOLDOWN = timedelta(minutes=2)
#: At most this many reset SMS to one phone number a day, whichever accounts it belongs to.
MAX_RESET_SMS_PER_PHONE = 3
RESET_PHONE_WINDOW = timedelta(days=1)
#: At most this many reset requests (known e-mail or not) from one client address an hour.
MAX_RESET_REQUESTS_PER_CLIENT = 10
RESET_CLIENT_WINDOW = timedelta(hours=1)


def note_reset_request(session: Session, client: str, clock: Clock) -> None:
    """Count a reset request from ``client`` (a keyed hash of the address, never the address).

    Raises TooManyAttempts past MAX_RESET_REQUESTS_PER_CLIENT within RESET_CLIENT_WINDOW,
    whether the e-mails asked for exist or not: one place cannot send SMS to many phones,
    and the refusal says nothing about which accounts exist. Rows older than the window
    are deleted here and by the retention job: they no longer count. The caller commits.
    """
    now = clock.now()
    since = now - RESET_CLIENT_WINDOW
    forget_old_reset_requests(session, now)
    recent = session.scalar(
        sa.select(sa.func.count()).where(
            PasswordResetRequest.client_hash == client, PasswordResetRequest.at > since
        )
    )
    if int(recent or 0) >= MAX_RESET_REQUESTS_PER_CLIENT:
        raise TooManyAttempts()
    session.add(PasswordResetRequest(at=now, client_hash=client))


def forget_old_reset_requests(session: Session, now: datetime) -> int:
    """Reset requests only count for RESET_CLIENT_WINDOW: delete older ones (also run by retention)."""
    result = session.execute(
        sa.delete(PasswordResetRequest)
        .where(PasswordResetRequest.at <= now - RESET_CLIENT_WINDOW)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _reset_sms_to_same_phone(session: Session, user: UserAccount, since: datetime) -> int:
    """Reset links sent since ``since`` to the phone of ``user`` (all its accounts counted)."""
    accounts: sa.ColumnElement[bool] = UserAccount.id == user.id
    if user.driver_id is not None:
        phone = sa.select(Driver.phone).where(Driver.id == user.driver_id).scalar_subquery()
        accounts = sa.or_(accounts, Driver.phone == phone)
    query = (
        sa.select(sa.func.count())
        .select_from(PasswordResetToken)
        .join(UserAccount, UserAccount.id == PasswordResetToken.user_id)
        .outerjoin(Driver, Driver.id == UserAccount.driver_id)
        .where(accounts, PasswordResetToken.created_at > since)
    )
    return int(session.scalar(query) or 0)


def start_password_reset(session: Session, user: UserAccount, clock: Clock, ttl: timedelta) -> str | None:
    """A new one-time secret for ``user`` (earlier unused links stop working); store only its digest.

    None when a link was already sent less than RESET_COOLDOWN ago, or when the phone it
    goes to already had MAX_RESET_SMS_PER_PHONE links within RESET_PHONE_WINDOW: the person
    is told the same either way, so the answer never says whether an account exists.
    """
    now = clock.now()
    recent = session.scalar(
        sa.select(sa.func.max(PasswordResetToken.created_at)).where(PasswordResetToken.user_id == user.id)
    )
    if recent is not None and now - recent < RESET_COOLDOWN:
        return None
    if _reset_sms_to_same_phone(session, user, now - RESET_PHONE_WINDOW) >= MAX_RESET_SMS_PER_PHONE:
        return None
    session.execute(
        sa.update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    secret = secrets.token_urlsafe(24)  # 192 bits; short enough for the link to fit one SMS
    session.add(
        PasswordResetToken(user_id=user.id, token_hash=digest(secret), expires_at=now + ttl, created_at=now)
    )
    audit.record(
        session, "system", "account.reset_requested", subject=user, association_id=user.association_id
    )
    session.flush()
    return secret


def reset_token_user(session: Session, secret: str, clock: Clock) -> UserAccount | None:
    """The account a still-valid link belongs to, without using it up."""
    token = session.scalar(
        sa.select(PasswordResetToken).where(PasswordResetToken.token_hash == digest(secret))
    )
    if token is None or token.used_at is not None or token.expires_at <= clock.now():
        return None
    return session.get(UserAccount, token.user_id)


def finish_password_reset(
    session: Session, secret: str, new_password: str, clock: Clock
) -> UserAccount | None:
    """Use the link once (guarded UPDATE) and set the password; None if the link is spent or expired."""
    if problem := password_problem(new_password):
        raise InvalidInput.on("password", problem)
    now = clock.now()
    token = session.scalar(
        sa.select(PasswordResetToken).where(PasswordResetToken.token_hash == digest(secret))
    )
    if token is None:
        return None
    used = session.execute(
        sa.update(PasswordResetToken)
        .where(
            PasswordResetToken.id == token.id,
            PasswordResetToken.used_at.is_(None),
            PasswordResetToken.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        return None
    user = session.get_one(UserAccount, token.user_id)
    change_password(session, user, new_password, actor=f"user:{user.id}")
    return user


def create_api_token(session: Session, user: UserAccount, name: str) -> tuple[ApiToken, str]:
    """A new bearer token; the secret is returned once and only its digest is kept."""
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name.strip()[:80] or "API", token_hash=digest(secret))
    session.add(token)
    session.flush()
    audit.record(
        session, f"user:{user.id}", "api_token.created", subject=token, association_id=user.association_id
    )
    return token, secret


def revoke_api_token(session: Session, user: UserAccount, token_id: int, clock: Clock) -> bool:
    result = session.execute(
        sa.update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        audit.record(
            session,
            f"user:{user.id}",
            "api_token.revoked",
            subject=None,
            association_id=user.association_id,
            token_id=token_id,
        )
        return True
    return False


#: ``last_used_at`` is rewritten only when it is older than this. The account page shows the day
#: of last use, so a minute's precision loses nothing, and a busy client no longer pays (nor
#: locks) an UPDATE of its token row on every call.
API_TOKEN_USE_PRECISION = timedelta(minutes=1)


def user_for_api_token(session: Session, secret: str, clock: Clock) -> UserAccount | None:
    found = session.execute(
        sa.select(ApiToken, UserAccount)
        .join(UserAccount, UserAccount.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest(secret), ApiToken.revoked_at.is_(None))
    ).one_or_none()
    if found is None:
        return None
    token, user = found
    now = clock.now()
    if token.last_used_at is None or not now - API_TOKEN_USE_PRECISION < token.last_used_at <= now:
        token.last_used_at = now
    return user
