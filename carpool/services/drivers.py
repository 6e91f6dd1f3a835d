"""Volunteer drivers: sign-up, vetting and availability.

A new driver is PENDING until a coordinator vets them: they may offer rides,
but the matcher never assigns them and the web never shows them residents' data.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, time, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carpool.clock import PARIS, Clock
from carpool.errors import InvalidInput
from carpool.models import (
    Association,
    AvailabilitySlot,
    Driver,
    Offer,
    OfferStatus,
    Role,
    TimeOff,
    UserAccount,
    VettingStatus,
)
from carpool.services import audit, phone_check
from carpool.services.accounts import hash_password, password_problem
from carpool.services.places import resolve_commune
from carpool.text import EMAIL_PROBLEM, is_email, normalise_mobile

#: A driver's first name goes into SMS to residents ("Sophie passera vous prendre"): letters
#: (accents welcome), single spaces, hyphens and apostrophes, so nothing else (links, numbers,
#: control or direction characters) can be slipped into a message.
FIRST_NAME_MAX = 40
_NAME_SEPARATORS = " -'"
MAX_TIME_OFF_DAYS = 366
EMAIL_EXISTS = (
    "Un compte existe déjà avec cette adresse : connectez-vous ou choisissez « mot de passe oublié »."
)

# --- sign-up and vetting -------------------------------------------------------------------


@dataclass(frozen=True)
class SignUp:
    first_name: str
    last_name: str
    email: str
    phone: str
    home_commune: str
    seats: int
    wheelchair_accessible: bool
    password: str
    association_id: int | None = None
    #: The ``PhoneVerification`` that proved ``phone`` with a code sent by SMS (see phone_check).
    phone_proof: int | None = None


def associations(session: Session) -> list[Association]:
    return list(session.scalars(sa.select(Association).order_by(Association.name)))


def clean_first_name(text: str) -> str:
    """Composed accents, the typographic apostrophe as a plain one (GSM-7), single spaces."""
    text = unicodedata.normalize("NFC", text).replace("\u2019", "'")
    return re.sub(r" ?- ?", "-", " ".join(text.split()))


def first_name_problem(name: str) -> str | None:
    """A plain-French reason ``name`` (cleaned) is refused as a first name, or None."""
    if not name:
        return "Indiquez votre prénom."
    if len(name) > FIRST_NAME_MAX:
        return f"Votre prénom doit faire {FIRST_NAME_MAX} caractères au plus."
    letters_only = all(ch.isalpha() or ch in _NAME_SEPARATORS for ch in name)
    well_formed = name[0].isalpha() and name[-1].isalpha() and not re.search(r"[ '-]{2}", name)
    if not (letters_only and well_formed):
        return (
            "Votre prénom ne peut contenir que des lettres (accents compris), des espaces, "
            "des traits d'union et des apostrophes, par exemple « Marie-Hélène »."
        )
    return None


def sign_up(session: Session, form: SignUp, clock: Clock) -> UserAccount:
    """Create a PENDING driver and their log-in; raises InvalidInput with every problem found.

    The phone must have been proven with a code (``form.phone_proof``), and have no account yet.
    """
    errors: dict[str, str] = {}
    email = form.email.strip().lower()
    first_name = clean_first_name(form.first_name)
    if problem := first_name_problem(first_name):
        errors["first_name"] = problem
    if not form.last_name.strip():
        errors["last_name"] = "Indiquez votre nom."
    if not is_email(email):
        errors["email"] = EMAIL_PROBLEM
    elif _email_has_account(session, email):
        errors["email"] = EMAIL_EXISTS
    phone = ""
    try:
        phone = normalise_mobile(form.phone)
    except InvalidInput as exc:
        errors.update(exc.errors)
    commune = None
    try:
        commune = resolve_commune(session, form.home_commune, "home_commune")
    except InvalidInput as exc:
        errors.update(exc.errors)
    if not 1 <= form.seats <= 8:
        errors["seats"] = "Le nombre de places passagers doit être entre 1 et 8."
    if problem := password_problem(form.password):
        errors["password"] = problem
    association = _association_for_sign_up(session, form.association_id, errors)
    if phone and phone_check.phone_has_account(session, phone):
        errors["phone"] = phone_check.ACCOUNT_EXISTS
    elif phone and not phone_check.use_proof(session, form.phone_proof, phone, clock.now()):
        errors["phone"] = "Confirmez d'abord ce numéro avec le code reçu par SMS."
    if errors:
        raise InvalidInput(errors)
    assert commune is not None and association is not None
    driver = Driver(
        association_id=association.id,
        first_name=first_name,
        last_name=form.last_name.strip()[:80],
        email=email,
        phone=phone,
        home_commune_insee=commune.insee,
        home_point=commune.point,
        seats=form.seats,
        wheelchair_accessible=form.wheelchair_accessible,
        vetting=VettingStatus.PENDING,
    )
    with _taken_meanwhile_as_field_message(session, phone, email):
        session.add(driver)
        session.flush()
        user = UserAccount(
            email=email,
            password_hash=hash_password(form.password),
            role=Role.DRIVER,
            association_id=association.id,
            driver_id=driver.id,
            session_version=0,
            last_login_at=clock.now(),
        )
        session.add(user)
        session.flush()
    audit.record(
        session, f"user:{user.id}", "driver.signed_up", subject=driver, association_id=association.id
    )
    return user


@contextmanager
def _taken_meanwhile_as_field_message(session: Session, phone: str, email: str) -> Iterator[None]:
    """Run the inserts in a savepoint; a number or address taken meanwhile becomes a field message.

    The checks read before writing: a concurrent sign-up (two tabs, two proofs) can pass them
    too, and only the unique indexes see it. The savepoint is undone and the caller, which gets
    InvalidInput, does not commit: nothing of this sign-up stays.
    """
    try:
        with session.begin_nested():
            yield
    except IntegrityError as error:
        if phone_check.phone_has_account(session, phone):
            raise InvalidInput.on("phone", phone_check.ACCOUNT_EXISTS) from error
        if _email_has_account(session, email):
            raise InvalidInput.on("email", EMAIL_EXISTS) from error
        raise


def _email_has_account(session: Session, email: str) -> bool:
    return bool(
        session.scalar(sa.select(UserAccount.id).where(UserAccount.email == email).limit(1))
        or session.scalar(sa.select(Driver.id).where(Driver.email == email).limit(1))
    )


def _association_for_sign_up(
    session: Session, wanted: int | None, errors: dict[str, str]
) -> Association | None:
    """One association: that one. Several: the one chosen in the form."""
    available = associations(session)
    if len(available) == 1:
        return available[0]
    if not available:
        errors[""] = "Les inscriptions ne sont pas encore ouvertes : aucune association n'est configurée."
        return None
    chosen = next((a for a in available if a.id == wanted), None)
    if chosen is None:
        errors["association_id"] = "Choisissez l'association que vous rejoignez."
    return chosen


def set_vetting(session: Session, driver: Driver, status: VettingStatus, *, actor: str, clock: Clock) -> None:
    """The coordinators' hook: vet, pause or send back to pending; audited.

    The matcher's cached index re-reads only offers changed since its last look:
    the driver's open offers are marked changed, so a pause counts at once.
    """
    previous = driver.vetting
    if (previous is VettingStatus.VETTED) is not (status is VettingStatus.VETTED):
        session.execute(
            sa.update(Offer)
            .where(Offer.driver_id == driver.id, Offer.status == OfferStatus.OPEN)
            .values(updated_at=clock.now())
            .execution_options(synchronize_session=False)
        )
    driver.vetting = status
    driver.vetted_at = clock.now() if status is VettingStatus.VETTED else driver.vetted_at
    audit.record(
        session,
        actor,
        f"driver.{status.value}",
        subject=driver,
        association_id=driver.association_id,
        previous=previous.value,
    )


def driver_of(session: Session, user: UserAccount) -> Driver | None:
    return session.get(Driver, user.driver_id) if user.driver_id else None


# --- availability --------------------------------------------------------------------------


@dataclass(frozen=True)
class WeeklySlot:
    weekday: int
    starts_at: time
    ends_at: time


def set_availability(
    session: Session,
    driver: Driver,
    slots: list[WeeklySlot],
    *,
    radius_km: int,
    max_trips_per_week: int,
    actor: str,
) -> None:
    """Replace the weekly slots (delete + insert, which the matcher's cache key relies on)."""
    errors: dict[str, str] = {}
    for n, slot in enumerate(slots):
        if not 0 <= slot.weekday <= 6:
            errors[f"slots-{n}-weekday"] = "Choisissez un jour."
        if slot.ends_at <= slot.starts_at:
            errors[f"slots-{n}-ends_at"] = "L'heure de fin doit être après l'heure de début."
    if not 1 <= radius_km <= 100:
        errors["radius_km"] = "La distance autour de chez vous doit être entre 1 et 100 km."
    if not 0 <= max_trips_per_week <= 20:
        errors["max_trips_per_week"] = "Le nombre de trajets par semaine doit être entre 0 et 20."
    if len(slots) > 21:
        errors[""] = "Indiquez au plus 21 créneaux."
    if errors:
        raise InvalidInput(errors)
    # Insert the new rows before deleting the old ones: their ids are then above every old
    # id, even on SQLite (which reuses the highest rowid once deleted), so the matcher's
    # cache key (count, max id) changes whenever the slots do.
    old = list(session.scalars(sa.select(AvailabilitySlot.id).where(AvailabilitySlot.driver_id == driver.id)))
    for slot in sorted(set(slots), key=lambda s: (s.weekday, s.starts_at)):
        session.add(
            AvailabilitySlot(
                driver_id=driver.id, weekday=slot.weekday, starts_at=slot.starts_at, ends_at=slot.ends_at
            )
        )
    session.flush()
    if old:
        session.execute(sa.delete(AvailabilitySlot).where(AvailabilitySlot.id.in_(old)))
    driver.radius_km = radius_km
    driver.max_trips_per_week = max_trips_per_week
    session.flush()
    audit.record(
        session,
        actor,
        "driver.availability_changed",
        subject=driver,
        association_id=driver.association_id,
        slots=len(slots),
        radius_km=radius_km,
        max_trips_per_week=max_trips_per_week,
    )


def weekly_slots(session: Session, driver: Driver) -> list[AvailabilitySlot]:
    """The driver's weekly grid, Monday first, each day in time order."""
    return list(
        session.scalars(
            sa.select(AvailabilitySlot)
            .where(AvailabilitySlot.driver_id == driver.id)
            .order_by(AvailabilitySlot.weekday, AvailabilitySlot.starts_at)
        )
    )


def time_off(session: Session, driver: Driver, *, until_at_least: date | None = None) -> list[TimeOff]:
    """The driver's periods of absence by first day; only those not over before ``until_at_least``."""
    query = sa.select(TimeOff).where(TimeOff.driver_id == driver.id).order_by(TimeOff.first_day)
    if until_at_least is not None:
        query = query.where(TimeOff.last_day >= until_at_least)
    return list(session.scalars(query))


def add_time_off(
    session: Session, driver: Driver, first_day: date, last_day: date, *, actor: str, clock: Clock
) -> TimeOff:
    today = clock.now().astimezone(PARIS).date()
    if last_day < first_day:
        raise InvalidInput.on("last_day", "Le dernier jour doit être le même jour ou après le premier.")
    if last_day < today:
        raise InvalidInput.on("last_day", "Cette période est déjà passée.")
    if last_day - first_day > timedelta(days=MAX_TIME_OFF_DAYS):
        raise InvalidInput.on("last_day", "Une absence dure au plus un an.")
    period = TimeOff(driver_id=driver.id, first_day=first_day, last_day=last_day)
    session.add(period)
    session.flush()
    audit.record(
        session, actor, "driver.time_off_added", subject=period, association_id=driver.association_id
    )
    return period


def remove_time_off(session: Session, driver: Driver, time_off_id: int, *, actor: str) -> bool:
    """Only the driver's own periods; False when there is no such period of theirs."""
    result = session.execute(
        sa.delete(TimeOff).where(TimeOff.id == time_off_id, TimeOff.driver_id == driver.id)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    audit.record(
        session,
        actor,
        "driver.time_off_removed",
        association_id=driver.association_id,
        time_off_id=time_off_id,
    )
    return True
