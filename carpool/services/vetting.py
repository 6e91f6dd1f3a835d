"""The drivers' registry: what a coordinator checked before a volunteer drives residents.

A driver is assigned only once VETTED (the matcher filters on it), so vetting
asks for proof: the documents were seen and the licence and insurance are
valid today. Pausing needs no proof: it must always be possible, at once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import PARIS, Clock
from carpool.errors import InvalidInput
from carpool.models import AuditEvent, Commune, Driver, VettingStatus
from carpool.services import audit
from carpool.services.drivers import set_vetting

#: A licence or an insurance ending within this many days is flagged in the registry.
EXPIRY_WARNING_DAYS = 30
#: Further than this is a typo (a French licence lasts 15 years, an insurance one).
MAX_VALIDITY_YEARS = 20
MAX_NOTE_LENGTH = 1000


@dataclass(frozen=True)
class VettingInput:
    """A coordinator's decision and what they saw to make it."""

    decision: VettingStatus
    documents_seen: bool
    licence_valid_until: date | None
    insurance_valid_until: date | None
    note: str = ""
    #: Paid by the association: counted apart from volunteers in the annual report.
    employee: bool = False


def record_vetting(session: Session, driver: Driver, data: VettingInput, *, actor: str, clock: Clock) -> None:
    """Vet, pause or send back to pending; raises InvalidInput and changes nothing if refused."""
    today = clock.now().astimezone(PARIS).date()
    errors = _problems(data, today)
    if errors:
        raise InvalidInput(errors)
    if data.documents_seen:
        driver.documents_checked_at = clock.now()
    driver.licence_valid_until = data.licence_valid_until or driver.licence_valid_until
    driver.insurance_valid_until = data.insurance_valid_until or driver.insurance_valid_until
    driver.vetting_note = data.note.strip()
    driver.is_volunteer = not data.employee
    if data.decision is not driver.vetting or data.decision is VettingStatus.VETTED:
        set_vetting(session, driver, data.decision, actor=actor, clock=clock)
    audit.record(
        session,
        actor,
        "driver.vetting_recorded",
        subject=driver,
        association_id=driver.association_id,
        decision=data.decision.value,
        documents_seen=data.documents_seen,
        licence_valid_until=_iso(driver.licence_valid_until),
        insurance_valid_until=_iso(driver.insurance_valid_until),
        employee=data.employee,
    )
    session.flush()


def _problems(data: VettingInput, today: date) -> dict[str, str]:
    errors: dict[str, str] = {}
    latest = today + timedelta(days=365 * MAX_VALIDITY_YEARS)
    dates = {
        "licence_valid_until": (data.licence_valid_until, "du permis"),
        "insurance_valid_until": (data.insurance_valid_until, "de l'assurance"),
    }
    for field, (until, what) in dates.items():
        if until is not None and until > latest:
            errors[field] = f"Cette date de fin de validité {what} semble erronée : vérifiez l'année."
        elif data.decision is VettingStatus.VETTED and until is None:
            errors[field] = f"Indiquez la date de fin de validité {what}."
        elif data.decision is VettingStatus.VETTED and until is not None and until < today:
            errors[field] = f"La validité {what} est dépassée : le conducteur ne peut pas être vérifié."
    if data.decision is VettingStatus.VETTED and not data.documents_seen:
        errors["documents_seen"] = "Cochez cette case une fois le permis et l'attestation d'assurance vus."
    if len(data.note) > MAX_NOTE_LENGTH:
        errors["note"] = f"La note doit faire au plus {MAX_NOTE_LENGTH} caractères."
    return errors


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# --- what the registry shows ---------------------------------------------------------------


class Validity(enum.Enum):
    """Where a document's end date stands today."""

    MISSING = "missing"
    EXPIRED = "expired"
    SOON = "soon"
    OK = "ok"


def validity(until: date | None, today: date) -> Validity:
    if until is None:
        return Validity.MISSING
    if until < today:
        return Validity.EXPIRED
    if until <= today + timedelta(days=EXPIRY_WARNING_DAYS):
        return Validity.SOON
    return Validity.OK


@dataclass(frozen=True)
class DriverRow:
    """One line of the registry: the driver, their commune's name and their documents' state."""

    driver: Driver
    commune: str
    licence: Validity
    insurance: Validity

    @property
    def warning(self) -> bool:
        """A vetted driver with a missing, expired or soon-ending document needs attention."""
        return self.driver.vetting is VettingStatus.VETTED and (
            self.licence is not Validity.OK or self.insurance is not Validity.OK
        )


def registry(
    session: Session, association_id: int, today: date, status: VettingStatus | None = None
) -> list[DriverRow]:
    """The association's drivers (one query), pending first, then by name."""
    query = (
        sa.select(Driver, Commune.name)
        .join(Commune, Commune.insee == Driver.home_commune_insee)
        .where(Driver.association_id == association_id)
    )
    if status is not None:
        query = query.where(Driver.vetting == status)
    order = sa.case(
        (Driver.vetting == VettingStatus.PENDING, 0), (Driver.vetting == VettingStatus.VETTED, 1), else_=2
    )
    rows = session.execute(query.order_by(order, Driver.last_name, Driver.first_name, Driver.id))
    return [
        DriverRow(
            driver,
            commune,
            validity(driver.licence_valid_until, today),
            validity(driver.insurance_valid_until, today),
        )
        for driver, commune in rows
    ]


def counts(session: Session, association_id: int) -> dict[VettingStatus, int]:
    """How many drivers in each state, for the filter links."""
    rows = session.execute(
        sa.select(Driver.vetting, sa.func.count())
        .where(Driver.association_id == association_id)
        .group_by(Driver.vetting)
    )
    found = {status: int(n) for status, n in rows}
    return {status: found.get(status, 0) for status in VettingStatus}


def history(session: Session, driver: Driver, limit: int = 20) -> list[AuditEvent]:
    """The driver's vetting decisions, latest first (from the audit trail)."""
    return list(
        session.scalars(
            sa.select(AuditEvent)
            .where(
                AuditEvent.subject_type == "Driver",
                AuditEvent.subject_id == driver.id,
                AuditEvent.association_id == driver.association_id,
                AuditEvent.action.in_([f"driver.{s.value}" for s in VettingStatus]),
            )
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
    )
