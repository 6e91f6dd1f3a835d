"""Several associations on one instance: creating one, and knowing which one a number belongs to.

Each association has its own SMS number; an inbound SMS (or call) is answered by the
association whose number it was sent to (``To``), even when the sender is known to another.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import Clock
from carpool.errors import InvalidInput
from carpool.models import Association, Resident, Role, UserAccount
from carpool.services import audit, gazetteer
from carpool.services.accounts import start_password_reset
from carpool.services.association_settings import REVOKED_HASH, check_sms_number
from carpool.text import EMAIL_PROBLEM, fold, is_email, same_number

#: How long the first admin's link to choose a password works (it is given by hand, not by SMS).
FIRST_PASSWORD_TTL = timedelta(days=3)
NAME_MAX = 160


@dataclass(frozen=True)
class NewAssociation:
    association: Association
    communes: gazetteer.ImportReport
    admin: UserAccount | None
    #: The one-time secret of the admin's first-password link (None without an admin).
    password_secret: str | None


def parse_departements(text: str) -> tuple[str, ...]:
    """ "23,87" or "23 87" → ("23", "87"); an unknown or missing code raises InvalidInput."""
    return tuple(gazetteer.departement_codes(re.split(r"[,;\s]+", text)))


def create_association(
    session: Session,
    name: str,
    departements: Sequence[str],
    sms_number: str,
    clock: Clock,
    *,
    admin_email: str | None = None,
) -> NewAssociation:
    """Create an association serving ``departements`` and import their missing communes.

    Everything is checked first: a name already taken, an unknown département, a malformed
    SMS number or one another association uses raise InvalidInput and nothing is written.
    ``admin_email`` creates its first admin, who chooses a password through a one-time link.
    """
    errors: dict[str, str] = {}
    name = " ".join(name.split())
    if not name or len(name) > NAME_MAX:
        errors["name"] = f"le nom doit faire entre 1 et {NAME_MAX} caractères"
    elif any(fold(name) == fold(other) for other in session.scalars(sa.select(Association.name))):
        errors["name"] = f"une association s'appelle déjà « {name} »"
    number = check_sms_number(session, None, sms_number, errors) if sms_number.strip() else None
    if number is None and "sms_number" not in errors:
        errors["sms_number"] = "indiquez le numéro de portable qui reçoit les SMS, par exemple 06 12 34 56 78"
    email = (admin_email or "").strip().lower()
    if admin_email is not None and not is_email(email):
        errors["admin_email"] = EMAIL_PROBLEM
    elif email and session.scalar(sa.select(UserAccount.id).where(UserAccount.email == email)):
        errors["admin_email"] = "cette adresse est déjà celle d'un autre compte"
    if errors:
        raise InvalidInput(errors)
    communes = gazetteer.import_departements(session, departements)  # InvalidInput: unknown code
    association = Association(name=name, sms_number=number, departements=",".join(departements))
    session.add(association)
    session.flush()
    audit.record(
        session,
        "cli",
        "association.created",
        subject=association,
        association_id=association.id,
        departements=association.departements,
    )
    admin, secret = (None, None)
    if email:
        admin, secret = add_first_admin(session, association, email, clock)
    return NewAssociation(association, communes, admin, secret)


def add_first_admin(
    session: Session, association: Association, email: str, clock: Clock
) -> tuple[UserAccount, str]:
    """An admin with no usable password yet, and the secret of the link where they choose one.

    The link is the password-reset link drivers get by SMS (one use, expires); the admin
    then logs in and, as every admin, enrols a second factor.
    """
    admin = UserAccount(
        email=email,
        password_hash=REVOKED_HASH,  # no password verifies until they choose one
        role=Role.ADMIN,
        association_id=association.id,
        sees_health_data=True,
        session_version=0,
    )
    session.add(admin)
    session.flush()
    audit.record(
        session, "cli", "account.created", subject=admin, association_id=association.id, role=Role.ADMIN.value
    )
    secret = start_password_reset(session, admin, clock, FIRST_PASSWORD_TTL)
    assert secret is not None  # a new account has had no link and no SMS
    return admin, secret


def admin_link(session: Session, association_id: int, email: str, clock: Clock) -> tuple[UserAccount, str]:
    """A first-password link for an admin of ``association_id``, created if they have no account yet.

    For an association made without ``--admin-email``, or when the first link expired. An
    address another association (or a driver) uses, or a link asked again within two minutes,
    raises InvalidInput.
    """
    association = session.get(Association, association_id)
    if association is None:
        raise InvalidInput.on("association", f"aucune association n° {association_id}")
    email = email.strip().lower()
    if not is_email(email):
        raise InvalidInput.on("admin_email", EMAIL_PROBLEM)
    user = session.scalar(sa.select(UserAccount).where(UserAccount.email == email))
    if user is None:
        return add_first_admin(session, association, email, clock)
    if user.association_id != association_id or user.role is not Role.ADMIN:
        raise InvalidInput.on("admin_email", "cette adresse est déjà celle d'un autre compte")
    secret = start_password_reset(session, user, clock, FIRST_PASSWORD_TTL)
    if secret is None:
        raise InvalidInput.on("admin_email", "un lien vient d'être créé : réessayez dans deux minutes")
    return user, secret


def association_for_number(session: Session, to: str) -> Association | None:
    """The association whose SMS number or phone line is ``to`` (any French spelling of it), or None."""
    numbers = session.execute(
        sa.select(Association.id, Association.sms_number, Association.phone).order_by(Association.id)
    )
    for association_id, sms_number, phone in numbers:
        if same_number(sms_number, to) or same_number(phone, to):
            return session.get(Association, association_id)
    return None


def sender_and_association(
    session: Session, from_phone: str, to: str
) -> tuple[Resident | None, Association | None]:
    """Who wrote (or called) and which association answers, from the numbers alone.

    The association of ``to`` answers, and the sender is its resident if they are one, even
    when another association knows them too. When ``to`` is no association's number (a
    number moved, a test line), the sender's own association answers; a stranger then
    gets the first association.
    """
    association = association_for_number(session, to)
    residents = sa.select(Resident).where(Resident.phone == from_phone).order_by(Resident.id)
    if association is not None:
        resident = session.scalar(residents.where(Resident.association_id == association.id))
        return resident, association
    resident = session.scalars(residents).first()
    if resident is not None:
        return resident, session.get(Association, resident.association_id)
    return None, session.scalars(sa.select(Association).order_by(Association.id)).first()
