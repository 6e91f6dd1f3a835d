"""An association's settings and its coordinators' accounts, managed by its admins.

Revoking an account keeps the row (the audit trail names it) but makes it
useless: the password hash becomes a value no password verifies, open sessions
end (``session_version`` bumped), API tokens and reset links stop working and
the second factor is forgotten. Creating an account again with the same e-mail
in the same association gives access back. An association always keeps at
least one admin: the last one can be neither demoted nor revoked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import PARIS, WEEKDAYS, Clock
from carpool.errors import InvalidInput
from carpool.models import ApiToken, Association, PasswordResetToken, Role, UserAccount
from carpool.notify.privacy import mask
from carpool.services import audit
from carpool.services.accounts import end_sessions, hash_password, password_problem
from carpool.text import EMAIL_PROBLEM, display_phone, french_number, is_email, normalise_mobile, same_number

RATE_RANGE = (Decimal("0"), Decimal("2"))
SMS_RETENTION_RANGE = (7, 365)
RESIDENT_RETENTION_RANGE = (180, 3650)
RETURN_WINDOW_RANGE = (30, 240)
#: km/h the matcher assumes: a village road at 50, a town's streets (lights, traffic) at 25 to 30.
ROAD_SPEED_RANGE = (15, 80)
STAFF_ROLES = (Role.COORDINATOR, Role.ADMIN)
#: Not an Argon2 hash: ``verify_password`` refuses every password against it.
REVOKED_HASH = "!revoked"
ROLE_LABELS = {
    Role.COORDINATOR: "Coordinateur ou coordinatrice",
    Role.ADMIN: "Administrateur ou administratrice",
}


# --- settings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SettingsInput:
    """As typed: numbers in French ("0,32"), phone numbers as people write them."""

    sms_number: str
    phone: str
    rate_per_km: str
    sms_retention_days: int
    inactive_resident_retention_days: int
    #: Ask a second factor of every coordinator, not only of admins and those who see health data.
    totp_for_all_coordinators: bool = False
    #: Minutes between "ready to come home" and "home at the latest"; None: unchanged.
    return_window_min: int | None = None
    #: Average road speed for the matcher (km/h); None: unchanged.
    road_speed_kmh: int | None = None


def update_settings(session: Session, association: Association, data: SettingsInput, *, actor: str) -> None:
    """Check everything, then change it all and audit what changed; InvalidInput changes nothing."""
    errors: dict[str, str] = {}
    sms_number = check_sms_number(session, association.id, data.sms_number, errors)
    phone = _landline_or_mobile(data.phone, errors)
    rate = _rate(data.rate_per_km, errors)
    _within(data.sms_retention_days, SMS_RETENTION_RANGE, "sms_retention_days", "La durée", errors)
    _within(
        data.inactive_resident_retention_days,
        RESIDENT_RETENTION_RANGE,
        "inactive_resident_retention_days",
        "La durée",
        errors,
    )
    if data.return_window_min is not None:
        low, high = RETURN_WINDOW_RANGE
        if not low <= data.return_window_min <= high:
            errors["return_window_min"] = f"Le délai du retour doit être entre {low} et {high} minutes."
    if data.road_speed_kmh is not None:
        low, high = ROAD_SPEED_RANGE
        if not low <= data.road_speed_kmh <= high:
            errors["road_speed_kmh"] = f"La vitesse moyenne doit être entre {low} et {high} km/h."
    if errors:
        raise InvalidInput(errors)
    wanted = {
        "sms_number": sms_number,
        "phone": phone,
        "rate_per_km": rate,
        "sms_retention_days": data.sms_retention_days,
        "inactive_resident_retention_days": data.inactive_resident_retention_days,
        "totp_for_all_coordinators": data.totp_for_all_coordinators,
    }
    if data.return_window_min is not None:
        wanted["return_window_min"] = data.return_window_min
    if data.road_speed_kmh is not None:
        wanted["road_speed_kmh"] = data.road_speed_kmh
    apply_changes(session, association, wanted, actor=actor, action="association.settings_changed")


def apply_changes(
    session: Session,
    association: Association,
    wanted: Mapping[str, object],
    *,
    actor: str,
    action: str = "association.settings_changed",
    hidden: str = "",
) -> None:
    """Set the values that differ and audit them (before/after) under ``action``; flushes.

    The ``hidden`` field (a person's phone) is audited masked.
    """
    changed = {}
    for name, value in wanted.items():
        old = getattr(association, name)
        if old != value:
            shown = (lambda v: mask(str(v)) if v else None) if name == hidden else _text
            changed[name] = {"before": shown(old), "after": shown(value)}
            setattr(association, name, value)
    if changed:
        audit.record(session, actor, action, subject=association, association_id=association.id, **changed)
    session.flush()


def _text(value: object) -> str | None:
    return None if value is None else str(value)


# --- the phone line ------------------------------------------------------------------------

_HOUR = re.compile(r"^(\d{1,2})\s*(?:[h:]\s*(\d{2})?)?$")


@dataclass(frozen=True)
class LineInput:
    """The phone line as typed: the on-duty phone, opening and closing times per weekday (0 = Monday)."""

    on_duty_phone: str
    hours: dict[int, tuple[str, str]]
    number_masking: bool = False


def update_line(session: Session, association: Association, data: LineInput, *, actor: str) -> None:
    """Check the office hours and the on-duty phone, then save them; InvalidInput changes nothing."""
    errors: dict[str, str] = {}
    on_duty = None
    if data.on_duty_phone.strip():
        on_duty = french_number(data.on_duty_phone)
        if on_duty is None:
            errors["on_duty_phone"] = (
                "Indiquez un numéro de téléphone français à 10 chiffres, par exemple 06 12 34 56 78."
            )
    hours: dict[str, list[str]] = {}
    for day, (opens_text, closes_text) in sorted(data.hours.items()):
        name = WEEKDAYS[day]
        if not opens_text.strip() and not closes_text.strip():
            continue
        opens, closes = _hour(opens_text), _hour(closes_text)
        if opens is None or closes is None:
            errors[f"opens_{day}"] = (
                f"Indiquez l'ouverture et la fermeture du {name} (par exemple 9:00 et 17:00), ou aucune."
            )
        elif opens >= closes:
            errors[f"opens_{day}"] = f"Le {name}, l'ouverture doit précéder la fermeture."
        else:
            hours[str(day)] = [opens.strftime("%H:%M"), closes.strftime("%H:%M")]
    if hours and on_duty is None and "on_duty_phone" not in errors:
        errors["on_duty_phone"] = (
            "Indiquez le téléphone de permanence : pendant ces horaires, les appels y sont transférés."
        )
    if errors:
        raise InvalidInput(errors)
    wanted: dict[str, object] = {
        "on_duty_phone": on_duty,
        "office_hours": hours,
        "number_masking": data.number_masking,
    }
    apply_changes(session, association, wanted, actor=actor, hidden="on_duty_phone")


def _hour(text: str) -> time | None:
    """ "9:00", "09:30", "9h", "17 h 30" → a time; None when it is not one."""
    found = _HOUR.match(text.strip().lower())
    if found is None:
        return None
    hour, minute = int(found[1]), int(found[2] or 0)
    return time(hour, minute) if hour < 24 and minute < 60 else None


def in_office_hours(association: Association, now: datetime) -> bool:
    """Whether ``now`` (Paris time) falls in the association's office hours of that weekday."""
    local = now.astimezone(PARIS)
    span = (association.office_hours or {}).get(str(local.weekday()))
    if not span:
        return False
    return time.fromisoformat(span[0]) <= local.time().replace(tzinfo=None) < time.fromisoformat(span[1])


def check_sms_number(
    session: Session, association_id: int | None, text: str, errors: dict[str, str]
) -> str | None:
    """The number residents text, shown the French way; unique, as inbound SMS are routed by it.

    ``association_id`` is the association it is for (None: a new one); a problem goes in ``errors``.
    """
    if not text.strip():
        return None
    try:
        e164 = normalise_mobile(text)
    except InvalidInput:
        errors["sms_number"] = (
            "Indiquez un numéro de portable français qui reçoit les SMS, par exemple 06 12 34 56 78."
        )
        return None
    others = session.scalars(sa.select(Association.sms_number).where(Association.id != (association_id or 0)))
    if any(same_number(other, e164) for other in others):
        errors["sms_number"] = "Ce numéro est déjà celui d'une autre association."
        return None
    return display_phone(e164)


def _landline_or_mobile(text: str, errors: dict[str, str], field: str = "phone") -> str | None:
    """Any French number (01 to 09), shown the French way."""
    if not text.strip():
        return None
    e164 = french_number(text)
    if e164 is None:
        errors[field] = "Indiquez un numéro de téléphone français à 10 chiffres, par exemple 05 65 12 34 56."
        return None
    return display_phone(e164)


def _rate(text: str, errors: dict[str, str]) -> Decimal | None:
    low, high = RATE_RANGE
    try:
        rate = Decimal(text.strip().replace(",", ".").replace("€", "").strip())
    except InvalidOperation:
        rate = Decimal("NaN")
    if not rate.is_finite() or not low <= rate <= high:
        errors["rate_per_km"] = "Indiquez un montant en euros par km entre 0 et 2, par exemple 0,32."
        return None
    return rate.quantize(Decimal("0.001"))


def _within(value: int, bounds: tuple[int, int], field: str, what: str, errors: dict[str, str]) -> None:
    low, high = bounds
    if not low <= value <= high:
        errors[field] = f"{what} doit être entre {low} et {high} jours."


# --- coordinators' accounts ----------------------------------------------------------------


def is_revoked(user: UserAccount) -> bool:
    return user.password_hash == REVOKED_HASH


def staff(session: Session, association_id: int) -> list[UserAccount]:
    """The association's coordinators and admins, by e-mail (revoked ones included)."""
    return list(
        session.scalars(
            sa.select(UserAccount)
            .where(UserAccount.association_id == association_id, UserAccount.role.in_(STAFF_ROLES))
            .order_by(UserAccount.email)
        )
    )


@dataclass(frozen=True)
class NewAccount:
    email: str
    role: Role
    sees_health_data: bool
    password: str


def create_account(session: Session, association_id: int, data: NewAccount, *, actor: str) -> UserAccount:
    """A coordinator or admin with an initial password (a revoked one of this association comes back)."""
    errors: dict[str, str] = {}
    email = data.email.strip().lower()
    existing = None
    if not is_email(email):
        errors["email"] = EMAIL_PROBLEM
    else:
        existing = session.scalar(sa.select(UserAccount).where(UserAccount.email == email))
        returning = (
            existing is not None and existing.association_id == association_id and is_revoked(existing)
        )
        if existing is not None and not (returning and existing.role in STAFF_ROLES):
            errors["email"] = "Cette adresse est déjà utilisée par un autre compte."
    if data.role not in STAFF_ROLES:
        errors["role"] = "Choisissez un rôle dans la liste."
    if problem := password_problem(data.password):
        errors["password"] = problem
    if errors:
        raise InvalidInput(errors)
    user = existing or UserAccount(email=email, association_id=association_id, session_version=0)
    user.password_hash = hash_password(data.password)
    user.role = data.role
    user.sees_health_data = data.sees_health_data
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor,
        "account.restored" if existing else "account.created",
        subject=user,
        association_id=association_id,
        role=data.role.value,
        sees_health_data=data.sees_health_data,
    )
    return user


def update_account(
    session: Session, user: UserAccount, *, role: Role, sees_health_data: bool, actor: str
) -> None:
    """Change a staff account's role or access to health data (the last admin stays admin)."""
    if role not in STAFF_ROLES:
        raise InvalidInput.on("role", "Choisissez un rôle dans la liste.")
    if is_revoked(user):
        raise InvalidInput.on("", "Ce compte n'a plus accès : recréez-le pour le modifier.")
    if user.role is Role.ADMIN and role is not Role.ADMIN:
        _keep_an_admin(session, user, "role")
    before = {"role": user.role.value, "sees_health_data": user.sees_health_data}
    user.role, user.sees_health_data = role, sees_health_data
    session.flush()
    audit.record(
        session,
        actor,
        "account.updated",
        subject=user,
        association_id=user.association_id,
        before=before,
        after={"role": role.value, "sees_health_data": sees_health_data},
    )


def revoke_account(session: Session, user: UserAccount, *, by: UserAccount, clock: Clock) -> None:
    """End the account's access for good, everywhere, at once (never one's own: ask another admin)."""
    if is_revoked(user):
        return
    if user.id == by.id:
        raise InvalidInput.on(
            "", "Vous ne pouvez pas retirer votre propre accès : demandez-le à un autre administrateur."
        )
    if user.role is Role.ADMIN:
        _keep_an_admin(session, user, "")
    user.password_hash = REVOKED_HASH
    user.totp_secret = None
    user.totp_last_step = None
    user.totp_pending_secret = None
    user.sees_health_data = False
    session.flush()
    end_sessions(session, user, clock)
    now = clock.now()
    session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        sa.update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    audit.record(
        session, f"user:{by.id}", "account.revoked", subject=user, association_id=user.association_id
    )


def _keep_an_admin(session: Session, leaving: UserAccount, field: str) -> None:
    """Refuse if ``leaving`` is the association's last active admin.

    The admins' rows are locked (PostgreSQL) so two admins demoting each other at
    the same moment cannot both succeed; SQLite serialises writers anyway.
    """
    admins = session.scalars(
        sa.select(UserAccount)
        .where(
            UserAccount.association_id == leaving.association_id,
            UserAccount.role == Role.ADMIN,
            UserAccount.password_hash != REVOKED_HASH,
        )
        .order_by(UserAccount.id)
        .with_for_update()
    ).all()
    if not any(admin.id != leaving.id for admin in admins):
        raise InvalidInput.on(
            field,
            "C'est le dernier compte administrateur de l'association : "
            "nommez d'abord un autre administrateur.",
        )
