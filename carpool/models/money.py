"""Money around the trips: what residents owe per leg, what drivers chose per month."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from carpool.models.base import Base, Timestamped, enum_column


class PaymentMethod(enum.Enum):
    CASH = "cash"
    CHEQUE = "cheque"
    TRANSFER = "transfer"


class LegParticipation(Timestamped, Base):
    """The participation asked of a resident for one leg, fixed when the leg is booked.

    Due once the leg is driven (its match completed); paid when a coordinator records
    the payment (method and day). The price per km is kept: a later change of the
    association's price does not change what was announced.
    """

    __tablename__ = "leg_participation"
    __table_args__ = (
        sa.CheckConstraint("amount >= 0", name="amount_positive"),
        sa.CheckConstraint("(paid_on IS NULL) = (method IS NULL)", name="paid_whole"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    association_id: Mapped[int] = mapped_column(sa.ForeignKey("association.id"), index=True)
    match_id: Mapped[int] = mapped_column(sa.ForeignKey("ride_match.id"), unique=True)
    resident_id: Mapped[int] = mapped_column(sa.ForeignKey("resident.id"), index=True)
    km: Mapped[Decimal] = mapped_column(sa.Numeric(7, 1))
    price_per_km: Mapped[Decimal] = mapped_column(sa.Numeric(5, 3))
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(8, 2))
    paid_on: Mapped[date | None]
    method: Mapped[PaymentMethod | None] = enum_column(PaymentMethod, nullable=True)
    recorded_by: Mapped[str | None] = mapped_column(sa.String(80))


class ExpenseChoice(enum.Enum):
    REIMBURSE = "reimburse"
    WAIVE = "waive"


class MonthlyExpenses(Timestamped, Base):
    """A driver's choice for one month's mileage: paid back, or given up (a gift, receipt-worthy).

    The figures are those of the statement when the driver chose; the choice can be
    changed until a coordinator settles the month (reimbursement paid, or the
    waiver entered in the receipts), then it is locked.
    """

    __tablename__ = "monthly_expenses"
    __table_args__ = (sa.UniqueConstraint("driver_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    association_id: Mapped[int] = mapped_column(sa.ForeignKey("association.id"), index=True)
    driver_id: Mapped[int] = mapped_column(sa.ForeignKey("driver.id"), index=True)
    month: Mapped[date]  # its first day
    choice: Mapped[ExpenseChoice] = enum_column(ExpenseChoice)
    km: Mapped[Decimal] = mapped_column(sa.Numeric(8, 1))
    rate_per_km: Mapped[Decimal] = mapped_column(sa.Numeric(5, 3))
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(9, 2))
    #: The days driven, ISO dates separated by commas (the receipt lists them).
    trip_days: Mapped[str] = mapped_column(sa.Text, default="")
    chosen_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]
    settled_by: Mapped[str | None] = mapped_column(sa.String(80))
