"""Drivers' monthly choice (reimbursement or waiver) and the yearly receipt data of waivers.

A volunteer who gives up the reimbursement of expenses incurred for the
association's object makes it a gift (CGI art. 200): the association may issue
a receipt (Cerfa 11580) for the amount given up. Per month, once it is over, the
driver chooses; the month's figures are fixed at that moment. A coordinator
settles the month (reimbursement paid, or waiver entered in the receipts):
the choice is then locked. See docs/money.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import PARIS, Clock
from carpool.errors import InvalidInput
from carpool.models import Association, Driver, ExpenseChoice, MonthlyExpenses
from carpool.services import audit, exports, mileage
from carpool.services.exports import decimal_comma, safe_cell

CHOICE_LABELS = {ExpenseChoice.REIMBURSE: "remboursement", ExpenseChoice.WAIVE: "abandon (don)"}


def choose(
    session: Session, driver: Driver, month: date, choice: str, *, actor: str, clock: Clock
) -> MonthlyExpenses:
    """The driver's choice for a month that is over; InvalidInput (French) changes nothing."""
    wanted = next((c for c in ExpenseChoice if c.value == choice), None)
    if wanted is None:
        raise InvalidInput.on("choice", "Choisissez le remboursement ou l'abandon de vos frais.")
    month = date(month.year, month.month, 1)
    now = clock.now()
    if mileage.month_bounds(month)[1] > now.astimezone(PARIS):
        raise InvalidInput.on(
            "", "Le mois n'est pas terminé : vous pourrez choisir à partir du 1er du mois suivant."
        )
    current = mileage.statement(session, driver, month)
    if not current.trips:
        raise InvalidInput.on("", "Aucun trajet effectué ce mois-ci : il n'y a rien à rembourser.")
    row = current.choice
    if row is not None and row.settled_at is not None:
        raise InvalidInput.on("", "Ce mois est déjà réglé par l'association : le choix ne peut plus changer.")
    if row is None:
        row = MonthlyExpenses(association_id=driver.association_id, driver_id=driver.id, month=month)
        session.add(row)
    before = row.choice.value if row.choice else None
    row.choice, row.chosen_at = wanted, now
    row.km, row.rate_per_km, row.amount = current.total_km, current.rate_per_km, current.total_amount
    row.trip_days = ",".join(day.isoformat() for day in current.days)
    session.flush()
    audit.record(
        session,
        actor,
        "expenses.chosen",
        subject=row,
        association_id=driver.association_id,
        month=f"{month:%Y-%m}",
        choice=wanted.value,
        before=before,
        amount=str(row.amount),
        km=str(row.km),
    )
    return row


def settle(session: Session, row: MonthlyExpenses, *, actor: str, clock: Clock) -> None:
    """A coordinator closes the month (paid back, or entered in the receipts): the choice is locked."""
    if row.settled_at is not None:
        raise InvalidInput.on("", "Ce mois est déjà réglé.")
    row.settled_at, row.settled_by = clock.now(), actor
    session.flush()
    audit.record(
        session,
        actor,
        "expenses.settled",
        subject=row,
        association_id=row.association_id,
        month=f"{row.month:%Y-%m}",
        choice=row.choice.value,
        amount=str(row.amount),
    )


def year_choices(session: Session, association_id: int, year: int) -> list[tuple[MonthlyExpenses, Driver]]:
    """Every driver's choices in ``year``, by driver then month (the coordinators' list)."""
    return [
        (row, driver)
        for row, driver in session.execute(
            sa.select(MonthlyExpenses, Driver)
            .join(Driver, MonthlyExpenses.driver_id == Driver.id)
            .where(
                MonthlyExpenses.association_id == association_id,
                MonthlyExpenses.month >= date(year, 1, 1),
                MonthlyExpenses.month <= date(year, 12, 1),
            )
            .order_by(Driver.last_name, Driver.first_name, Driver.id, MonthlyExpenses.month)
        )
    ]


@dataclass
class Receipt:
    """One driver's waived expenses in a year: what the receipt states."""

    driver: Driver
    months: list[MonthlyExpenses] = field(default_factory=list)

    @property
    def amount(self) -> Decimal:
        return sum((m.amount for m in self.months), Decimal("0.00"))

    @property
    def km(self) -> Decimal:
        return sum((m.km for m in self.months), Decimal("0.0"))

    @property
    def days(self) -> list[date]:
        return sorted(date.fromisoformat(d) for m in self.months for d in m.trip_days.split(",") if d)


@dataclass(frozen=True)
class Receipts:
    association: Association
    year: int
    receipts: list[Receipt]

    @property
    def missing_identity(self) -> list[str]:
        """What the receipt needs and the settings lack."""
        needed = {
            "l'adresse": self.association.legal_address,
            "le numéro SIREN ou RNA": self.association.legal_number,
            "l'objet": self.association.legal_object,
        }
        return [name for name, value in needed.items() if not value]


def receipts(session: Session, association: Association, year: int) -> Receipts:
    """Waivers of ``year`` per driver (all of them, settled or not: the page says which)."""
    by_driver: dict[int, Receipt] = {}
    for row, driver in year_choices(session, association.id, year):
        if row.choice is ExpenseChoice.WAIVE:
            by_driver.setdefault(driver.id, Receipt(driver)).months.append(row)
    return Receipts(association, year, list(by_driver.values()))


def receipts_csv(data: Receipts) -> str:
    """One line per driver: the figures of the receipt; semicolons and decimal commas."""
    association = data.association
    rows = [
        [
            str(data.year),
            safe_cell(receipt.driver.last_name),
            safe_cell(receipt.driver.first_name),
            decimal_comma(receipt.km),
            decimal_comma(receipt.amount),
            " ".join(day.isoformat() for day in receipt.days),
            safe_cell(association.name),
            safe_cell(association.legal_number),
            safe_cell(" ".join(association.legal_address.split())),
        ]
        for receipt in data.receipts
    ]
    columns = ["annee", "nom", "prenom", "km", "montant_eur", "dates", "association", "siren_rna", "adresse"]
    return exports.to_csv(columns, rows)
