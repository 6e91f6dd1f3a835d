"""Web log-ins: Argon2id passwords, sessions voided server-side, one-time links, expiring API
tokens, log-in throttles that slow failing clients down (never lock out a client that has not
failed) and a TOTP second factor (required of admins and of coordinators who see health data).

Role-generic: drivers and coordinators log in the same way.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from carpool.clock import Clock
from carpool.errors import InvalidInput
from carpool.field_encryption import SecretBox, UnreadableSecret
from carpool.models import (
    ApiToken,
    Association,
    Driver,
    LoginFailure,
    PasswordResetRequest,
    PasswordResetToken,
    UserAccount,
)
from carpool.notify.compose import render
from carpool.notify.outbox import enqueue
from carpool.services import audit

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
    """This client failed too often lately: it must wait ``retry_after`` seconds first."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = max(1, retry_after)


#: Wrong passwords one client may make on one account before each new try has to wait.
FREE_FAILURES_PER_ACCOUNT_AND_CLIENT = 5
#: Wrong passwords one client may make on any accounts (an office behind one address) likewise.
MAX_FAILED_LOGINS_PER_CLIENT = 30
#: Failures on one account, from all clients, that mean someone guesses from many places: from
#: then on a client that has failed on it waits LOGIN_WINDOW; the others are not slowed down.
ACCOUNT_GUARD_FAILURES = 10
LOGIN_WINDOW = timedelta(minutes=15)
#: The first wait; it doubles with each further failure, up to LOGIN_WINDOW.
FIRST_DELAY = timedelta(seconds=2)


def authenticate(
    session: Session, email: str, password: str, clock: Clock, *, client: str | None = None
) -> UserAccount | None:
    """The account for this e-mail and password, or None (same time either way).

    ``client`` is a keyed hash of the address (never the address). A client that keeps failing
    waits longer and longer (TooManyAttempts says how long) before its password is even checked;
    a client that has not failed is never slowed down, so nobody can lock another person out.
    The counts live in the database, so every worker process sees the same ones. The caller
    commits, even on failure.
    """
    now = clock.now()
    if client is not None:
        _refuse_while_waiting(_client_wait(session, client, now))
    user = session.scalar(sa.select(UserAccount).where(UserAccount.email == email.strip().lower()))
    if user is None:
        verify_password(_DUMMY_HASH, password)
        note_failure(session, client, None, now)
        return None
    if client is not None:
        _refuse_while_waiting(_account_wait(session, client, user, now))
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


def _refuse_while_waiting(wait: timedelta) -> None:
    if wait > timedelta(0):
        raise TooManyAttempts(math.ceil(wait.total_seconds()))


def _wait_after(failures: int, free: int, last: datetime | None, now: datetime) -> timedelta:
    """How long is left to wait after ``failures`` failures, the last at ``last``."""
    if last is None or failures < free:
        return timedelta(0)
    delay = min(FIRST_DELAY * 2 ** min(failures - free, 20), LOGIN_WINDOW)
    return max(last + delay - now, timedelta(0))


def _failures(
    session: Session, now: datetime, *conditions: sa.ColumnElement[bool]
) -> tuple[int, datetime | None]:
    """How many failures match, and the latest, within LOGIN_WINDOW."""
    query = sa.select(sa.func.count(), sa.func.max(LoginFailure.at)).where(
        LoginFailure.at > now - LOGIN_WINDOW, *conditions
    )
    count, last = session.execute(query).one()
    return int(count or 0), _aware(last)


def _aware(moment: datetime | None) -> datetime | None:
    """max() over a column skips the type's conversion on SQLite: attach UTC again."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def _client_wait(session: Session, client: str, now: datetime) -> timedelta:
    count, last = _failures(session, now, LoginFailure.ip_hash == client)
    return _wait_after(count, MAX_FAILED_LOGINS_PER_CLIENT, last, now)


def _account_wait(session: Session, client: str, user: UserAccount, now: datetime) -> timedelta:
    """The wait of this client on this account; under a distributed attack, a long one for every
    client that failed on it (only those: the owner's fresh client still gets in)."""
    count, last = _failures(session, now, LoginFailure.ip_hash == client, LoginFailure.account_id == user.id)
    if last is None:
        return timedelta(0)
    wait = _wait_after(count, FREE_FAILURES_PER_ACCOUNT_AND_CLIENT, last, now)
    everyone, _last = _failures(session, now, LoginFailure.account_id == user.id)
    if everyone >= ACCOUNT_GUARD_FAILURES:
        wait = max(wait, last + LOGIN_WINDOW - now)
    return wait


def note_failure(session: Session, client: str | None, user: UserAccount | None, now: datetime) -> None:
    """Count a failed log-in (password or second factor) against the account and the client."""
    if client is not None:
        session.add(LoginFailure(at=now, ip_hash=client, account_id=user.id if user else None))
        session.flush()
    if user is not None:
        event = audit.record(
            session,
            f"user:{user.id}",
            "account.login_failed",
            subject=user,
            association_id=user.association_id,
        )
        event.at = now


def forget_old_failures(session: Session, now: datetime) -> int:
    """Per-client failures only matter for LOGIN_WINDOW: the retention job deletes the rest."""
    result = session.execute(sa.delete(LoginFailure).where(LoginFailure.at < now - LOGIN_WINDOW))
    return int(result.rowcount)  # type: ignore[attr-defined]


# --- second factor (TOTP, RFC 6238) ---------------------------------------------------------

TOTP_ISSUER = "Covoiturage solidaire"
#: What a coordinator reads when their second-factor key no longer opens (the key changed).
UNREADABLE_SECOND_FACTOR = (
    "Second facteur illisible : la clé de chiffrement du serveur a changé, contactez l'administrateur."
)


class UnreadableSecondFactor(Exception):
    """The account's second-factor key is sealed with a key the server no longer has."""

    def __init__(self) -> None:
        super().__init__(UNREADABLE_SECOND_FACTOR)


def set_totp_secret(user: UserAccount, secret: str | None, box: SecretBox) -> None:
    """The only way a second-factor key is written: sealed (a database dump does not give it)."""
    user.totp_secret = box.seal(secret) if secret is not None else None


def totp_secret_of(user: UserAccount, box: SecretBox) -> str | None:
    """The account's second-factor key in clear; raises UnreadableSecondFactor."""
    if user.totp_secret is None:
        return None
    try:
        return box.open(user.totp_secret)
    except UnreadableSecret:
        raise UnreadableSecondFactor() from None


def second_factor_readable(user: UserAccount, box: SecretBox) -> bool:
    """False when the account's second-factor key is sealed with a key the server lacks."""
    try:
        totp_secret_of(user, box)
    except UnreadableSecondFactor:
        return False
    return True


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


def totp_required(user: UserAccount, association: Association) -> bool:
    """Admins and coordinators who see health data always; every coordinator if the association says so."""
    if not user.is_coordinator:
        return False
    return user.may_see_purpose or association.totp_for_all_coordinators


def needs_totp_enrolment(session: Session, user: UserAccount) -> bool:
    """A coordinator who must have a second factor and has none yet (may do nothing but enrol)."""
    if user.totp_secret or not user.is_coordinator:
        return False
    return totp_required(user, session.get_one(Association, user.association_id))


def pending_totp_secret(session: Session, user: UserAccount, box: SecretBox) -> str:
    """The secret offered while enrolling: kept in the database, sealed (the cookie is signed,
    not encrypted), the same on every visit until a code proves it. One the server can no
    longer open is simply replaced: nothing was enrolled with it yet. The caller commits."""
    if user.totp_pending_secret is not None:
        try:
            return box.open(user.totp_pending_secret)
        except UnreadableSecret:
            pass
    secret = new_totp_secret()
    user.totp_pending_secret = box.seal(secret)
    return secret


def enable_totp(session: Session, user: UserAccount, code: str, clock: Clock, box: SecretBox) -> bool:
    """Turn the second factor on once the user proves their app shows the pending secret's code."""
    try:
        secret = box.open(user.totp_pending_secret) if user.totp_pending_secret else None
    except UnreadableSecret:
        secret = None
    step = _totp_step(secret, code, clock.now()) if secret else None
    if secret is None or step is None:
        return False
    set_totp_secret(user, secret, box)
    user.totp_last_step, user.totp_pending_secret = step, None
    audit.record(
        session, f"user:{user.id}", "account.totp_enabled", subject=user, association_id=user.association_id
    )
    return True


def disable_totp(
    session: Session,
    user: UserAccount,
    password: str,
    code: str,
    clock: Clock,
    box: SecretBox,
    *,
    client: str | None = None,
) -> None:
    """Turn the second factor off: only with the password and a current code, and never where it
    is required. Raises InvalidInput (field → message) or TooManyAttempts; wrong answers count
    as failed log-ins."""
    if totp_required(user, session.get_one(Association, user.association_id)):
        raise InvalidInput.on("", "Le second facteur est obligatoire pour votre compte : il reste activé.")
    if not verify_password(user.password_hash, password):
        note_failure(session, client, user, clock.now())
        raise InvalidInput.on("password", "Ce n'est pas votre mot de passe actuel.")
    if not check_totp(session, user, code, clock, box, client=client):
        raise InvalidInput.on("code", "Ce code n'est pas le bon (ou a déjà servi) : attendez le suivant.")
    user.totp_secret, user.totp_last_step = None, None
    audit.record(
        session, f"user:{user.id}", "account.totp_disabled", subject=user, association_id=user.association_id
    )


def check_totp(
    session: Session, user: UserAccount, code: str, clock: Clock, box: SecretBox, *, client: str | None = None
) -> bool:
    """The second step of a log-in: a valid code, never used before (a replayed code fails).

    Wrong codes count as failed log-ins (same throttles as passwords); raises TooManyAttempts,
    or UnreadableSecondFactor when the server's keys no longer open the account's key.
    """
    now = clock.now()
    if client is not None:
        _refuse_while_waiting(
            max(_client_wait(session, client, now), _account_wait(session, client, user, now))
        )
    secret = totp_secret_of(user, box)
    step = _totp_step(secret, code, now) if secret else None
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


@dataclass(frozen=True)
class SealReport:
    """What ``seal_totp_secrets`` did: values (re-)encrypted, and accounts whose key no key opens."""

    sealed: int
    unreadable: tuple[str, ...]


def seal_totp_secrets(session: Session, box: SecretBox) -> SealReport:
    """Encrypt second-factor keys still in clear, and re-encrypt those sealed by an older key
    (rotation). Idempotent: a second run finds nothing to do. Run by ``carpool db upgrade``
    after the migrations; the caller commits.

    When some key cannot be opened, nothing at all is written: this process's keys are likely
    not the web app's (another SECRET_KEY), and sealing with them would lock everyone out.
    """
    holders = sa.select(UserAccount).where(
        sa.or_(UserAccount.totp_secret.is_not(None), UserAccount.totp_pending_secret.is_not(None))
    )
    users = list(session.scalars(holders.order_by(UserAccount.id)))
    unreadable = tuple(user.email for user in users if not _opens(box, user.totp_secret))
    if unreadable:
        return SealReport(0, unreadable)
    sealed = 0
    for user in users:
        if user.totp_pending_secret is not None and not _opens(box, user.totp_pending_secret):
            user.totp_pending_secret = None  # nothing was enrolled with it: a new one is drawn
        for column in ("totp_secret", "totp_pending_secret"):
            stored = getattr(user, column)
            if stored is not None and box.needs_sealing(stored):
                setattr(user, column, box.seal(box.open(stored)))
                sealed += 1
    session.flush()
    return SealReport(sealed, ())


def has_second_factors(session: Session) -> bool:
    """Whether any account holds a second-factor key (enrolled or pending)."""
    held = sa.or_(UserAccount.totp_secret.is_not(None), UserAccount.totp_pending_secret.is_not(None))
    return session.scalar(sa.select(sa.exists().where(held))) or False


def _opens(box: SecretBox, stored: str | None) -> bool:
    try:
        return stored is None or box.open(stored) is not None
    except UnreadableSecret:
        return False


def reset_second_factor(session: Session, email: str, *, actor: str = "cli") -> UserAccount:
    """Forget an account's second factor (its key is lost or unreadable): at the next log-in the
    person enrols again. Raises InvalidInput for an unknown e-mail; the caller commits."""
    user = session.scalar(sa.select(UserAccount).where(UserAccount.email == email.strip().lower()))
    if user is None:
        raise InvalidInput.on("email", f"Aucun compte n'a l'adresse {email.strip()}.")
    user.totp_secret, user.totp_last_step, user.totp_pending_secret = None, None, None
    audit.record(session, actor, "account.totp_reset", subject=user, association_id=user.association_id)
    return user


def end_sessions(session: Session, user: UserAccount, clock: Clock) -> int:
    """Void every session of this account and revoke its API tokens (log-out everywhere, password
    change or reset: whoever held a session or a token is out); returns the new version."""
    session.execute(
        sa.update(UserAccount)
        .where(UserAccount.id == user.id)
        .values(session_version=UserAccount.session_version + 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(user, ["session_version"])
    revoke_all_api_tokens(session, user, clock)
    return user.session_version


def change_password(
    session: Session, user: UserAccount, new_password: str, clock: Clock, *, actor: str
) -> None:
    """Set a new password, void every open session and API token (the caller logs the current
    session back in)."""
    if problem := password_problem(new_password):
        raise InvalidInput.on("password", problem)
    user.password_hash = hash_password(new_password)
    session.flush()
    end_sessions(session, user, clock)
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
    recent, oldest = session.execute(
        sa.select(sa.func.count(), sa.func.min(PasswordResetRequest.at)).where(
            PasswordResetRequest.client_hash == client, PasswordResetRequest.at > since
        )
    ).one()
    if int(recent or 0) >= MAX_RESET_REQUESTS_PER_CLIENT:
        raise TooManyAttempts(math.ceil((oldest + RESET_CLIENT_WINDOW - now).total_seconds()))
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


def send_password_reset(
    session: Session, email: str, clock: Clock, *, minutes: int, link_for: Callable[[str], str]
) -> None:
    """Queue the reset SMS for the driver account of ``email``, when there is one and it may get a link.

    Returns nothing either way: the page answers the same whether the address has an
    account or its phone had enough links today. ``link_for`` turns the secret into the
    public URL (the web layer knows its routes). The caller counts the request
    (``note_reset_request``) and commits.
    """
    wanted = sa.select(UserAccount).where(UserAccount.email == email.strip().lower())
    user = session.scalars(wanted).one_or_none()
    driver = session.get(Driver, user.driver_id) if user is not None and user.driver_id else None
    if user is None or driver is None:
        return
    secret = start_password_reset(session, user, clock, timedelta(minutes=minutes))
    if secret is None:
        return
    enqueue(
        session,
        f"account:{user.id}:reset:{digest(secret)[:16]}",
        driver.phone,
        render("password_reset", link=link_for(secret), minutes=minutes),
        association_id=user.association_id,
        respect_opt_out=False,
    )


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
    change_password(session, user, new_password, clock, actor=f"user:{user.id}")
    return user


#: How long an API token works when API_TOKEN_TTL_DAYS is not set.
DEFAULT_API_TOKEN_TTL = timedelta(days=90)


def create_api_token(
    session: Session, user: UserAccount, name: str, clock: Clock, *, ttl: timedelta = DEFAULT_API_TOKEN_TTL
) -> tuple[ApiToken, str]:
    """A new bearer token valid for ``ttl``; the secret is returned once and only its digest is kept."""
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name.strip()[:80] or "API",
        token_hash=digest(secret),
        expires_at=clock.now() + ttl,
    )
    session.add(token)
    session.flush()
    audit.record(
        session, f"user:{user.id}", "api_token.created", subject=token, association_id=user.association_id
    )
    return token, secret


def live_api_tokens(session: Session, user: UserAccount) -> list[ApiToken]:
    """The account's tokens not revoked (expired ones included: the page says they expired)."""
    return list(
        session.scalars(
            sa.select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.id)
        )
    )


def revoke_api_token(session: Session, user: UserAccount, token_id: int, clock: Clock) -> bool:
    if _revoke_live_tokens(session, user, clock, ApiToken.id == token_id) == 1:
        _audit_revoked(session, user, token_id=token_id)
        return True
    return False


def revoke_all_api_tokens(session: Session, user: UserAccount, clock: Clock) -> int:
    """Revoke every live token of the account (a compromise ends them all); returns how many."""
    revoked = _revoke_live_tokens(session, user, clock)
    if revoked:
        _audit_revoked(session, user, count=revoked)
    return revoked


def _revoke_live_tokens(session: Session, user: UserAccount, clock: Clock, *where: Any) -> int:
    """One UPDATE (no read first, so two revocations cannot both count a token); how many."""
    result = session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), *where)
        .values(revoked_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _audit_revoked(session: Session, user: UserAccount, **detail: Any) -> None:
    actor, scope = f"user:{user.id}", user.association_id
    audit.record(session, actor, "api_token.revoked", subject=None, association_id=scope, **detail)


#: ``last_used_at`` is rewritten only when it is older than this. The account page shows the day
#: of last use, so a minute's precision loses nothing, and a busy client no longer pays (nor
#: locks) an UPDATE of its token row on every call.
API_TOKEN_USE_PRECISION = timedelta(minutes=1)


class ExpiredToken(Exception):
    """The token was genuine but its lifetime is over: create a new one."""


def user_for_api_token(session: Session, secret: str, clock: Clock) -> UserAccount | None:
    """The owner of a live token, or None; raises ExpiredToken for a genuine but expired one."""
    found = session.execute(
        sa.select(ApiToken, UserAccount)
        .join(UserAccount, UserAccount.id == ApiToken.user_id)
        .where(ApiToken.token_hash == digest(secret), ApiToken.revoked_at.is_(None))
    ).one_or_none()
    if found is None:
        return None
    token, user = found
    now = clock.now()
    if token.expires_at is None or token.expires_at <= now:
        raise ExpiredToken()
    if token.last_used_at is None or not now - API_TOKEN_USE_PRECISION < token.last_used_at <= now:
        token.last_used_at = now
    return user
