"""The people the service works for and with: associations, residents, drivers, log-ins."""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from carpool.db import point_type
from carpool.models.base import Base, Timestamped, enum_column


class Association(Timestamped, Base):
    """The organisation that runs the service in a territory; every record belongs to one."""

    __tablename__ = "association"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(160), unique=True)
    sms_number: Mapped[str | None] = mapped_column(sa.String(20))
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    rate_per_km: Mapped[Decimal] = mapped_column(sa.Numeric(5, 3), default=Decimal("0.320"))
    sms_retention_days: Mapped[int] = mapped_column(default=90)
    inactive_resident_retention_days: Mapped[int] = mapped_column(default=730)
    # A way back is asked as "ready from" a time; home at the latest this many minutes later.
    return_window_min: Mapped[int] = mapped_column(default=90, server_default=sa.text("90"))
    # Admins and coordinators who see health data always need a second factor; this asks it of all.
    totp_for_all_coordinators: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


class Resident(Timestamped, Base):
    """A person who asks for rides, usually by SMS; identified by their mobile number."""

    __tablename__ = "resident"

    id: Mapped[int] = mapped_column(primary_key=True)
    association_id: Mapped[int] = mapped_column(sa.ForeignKey("association.id"), index=True)
    phone: Mapped[str] = mapped_column(sa.String(16), unique=True)  # E.164, e.g. +33612345678
    first_name: Mapped[str] = mapped_column(sa.String(80))
    last_name: Mapped[str] = mapped_column(sa.String(80))
    home_commune_insee: Mapped[str] = mapped_column(sa.ForeignKey("commune.insee"), index=True)
    home_point: Mapped[Any | None] = mapped_column(point_type(), nullable=True)
    uses_wheelchair: Mapped[bool] = mapped_column(default=False)
    uses_walker: Mapped[bool] = mapped_column(default=False)
    needs_help_boarding: Mapped[bool] = mapped_column(default=False)
    sms_opted_out_at: Mapped[datetime | None]
    # How notices reach them: "sms", "voice" (phone calls) or "sms+voice" (see carpool.text).
    channel: Mapped[str] = mapped_column(sa.String(10), default="sms", server_default="sms")
    consent_at: Mapped[datetime | None]
    last_contact_at: Mapped[datetime | None]
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    # Set when erased on request (GDPR): the row stays, anonymised, for the statistics.
    erased_at: Mapped[datetime | None]

    @property
    def sms_opted_out(self) -> bool:
        return self.sms_opted_out_at is not None

    @property
    def by_call(self) -> bool:
        return "voice" in self.channel.split("+")

    @property
    def by_sms(self) -> bool:
        return "sms" in self.channel.split("+")

    @property
    def needs(self) -> frozenset[str]:
        flags = {
            "wheelchair": self.uses_wheelchair,
            "walker": self.uses_walker,
            "boarding_help": self.needs_help_boarding,
        }
        return frozenset(name for name, on in flags.items() if on)


class VettingStatus(enum.Enum):
    """A driver is assigned to residents only once a coordinator has vetted them."""

    PENDING = "pending"
    VETTED = "vetted"
    PAUSED = "paused"


class Driver(Timestamped, Base):
    """A volunteer who offers seats on trips they make, or drives people on request."""

    __tablename__ = "driver"
    __table_args__ = (sa.CheckConstraint("seats BETWEEN 1 AND 8", name="seats_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    association_id: Mapped[int] = mapped_column(sa.ForeignKey("association.id"), index=True)
    first_name: Mapped[str] = mapped_column(sa.String(80))
    last_name: Mapped[str] = mapped_column(sa.String(80))
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    phone: Mapped[str] = mapped_column(sa.String(16))
    home_commune_insee: Mapped[str] = mapped_column(sa.ForeignKey("commune.insee"), index=True)
    home_point: Mapped[Any] = mapped_column(point_type())
    seats: Mapped[int] = mapped_column(default=3)
    wheelchair_accessible: Mapped[bool] = mapped_column(default=False)
    vetting: Mapped[VettingStatus] = enum_column(VettingStatus, default=VettingStatus.PENDING)
    vetted_at: Mapped[datetime | None]
    # Dedicated trips ("Je suis disponible"): how far from home and how often they will drive.
    radius_km: Mapped[int] = mapped_column(default=20)
    max_trips_per_week: Mapped[int] = mapped_column(default=3)
    # What the coordinator checked when vetting (documents seen, validity dates).
    licence_valid_until: Mapped[date | None] = mapped_column(sa.Date)
    insurance_valid_until: Mapped[date | None] = mapped_column(sa.Date)
    documents_checked_at: Mapped[datetime | None]
    vetting_note: Mapped[str] = mapped_column(sa.Text, default="", server_default="")

    @property
    def is_vetted(self) -> bool:
        return self.vetting is VettingStatus.VETTED


class AvailabilitySlot(Base):
    """A weekly window in which a volunteer can drive someone (local time, Europe/Paris)."""

    __tablename__ = "availability_slot"
    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        sa.CheckConstraint("ends_at > starts_at", name="slot_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    driver_id: Mapped[int] = mapped_column(sa.ForeignKey("driver.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int]  # 0 = Monday, as in Python's date.weekday()
    starts_at: Mapped[time] = mapped_column(sa.Time)
    ends_at: Mapped[time] = mapped_column(sa.Time)


class TimeOff(Base):
    """Days a volunteer is away (holidays, illness): no dedicated trips then."""

    __tablename__ = "time_off"
    __table_args__ = (sa.CheckConstraint("last_day >= first_day", name="period_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    driver_id: Mapped[int] = mapped_column(sa.ForeignKey("driver.id", ondelete="CASCADE"), index=True)
    first_day: Mapped[date] = mapped_column(sa.Date)
    last_day: Mapped[date] = mapped_column(sa.Date)


class Role(enum.Enum):
    DRIVER = "driver"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


class UserAccount(Timestamped, Base):
    """A web log-in. Residents have none: they use SMS."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[Role] = enum_column(Role)
    association_id: Mapped[int] = mapped_column(sa.ForeignKey("association.id"), index=True)
    driver_id: Mapped[int | None] = mapped_column(sa.ForeignKey("driver.id"), unique=True)
    # Bumped on log-out and password change: sessions carrying an older value are void.
    session_version: Mapped[int] = mapped_column(default=0)
    last_login_at: Mapped[datetime | None]
    # Optional second factor (TOTP, RFC 6238); the last step used, so a code works once.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_last_step: Mapped[int | None]
    # The secret shown while enrolling, kept here until a code proves it: never in the cookie.
    totp_pending_secret: Mapped[str | None] = mapped_column(sa.String(64))
    # Trip purposes (often health) are special-category data: shown only to those who need them.
    sees_health_data: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    @property
    def is_coordinator(self) -> bool:
        return self.role in (Role.COORDINATOR, Role.ADMIN)

    @property
    def may_see_purpose(self) -> bool:
        return self.role is Role.ADMIN or (self.role is Role.COORDINATOR and self.sees_health_data)


class LoginFailure(Base):
    """A wrong password, by client address (hashed): the per-IP throttle shared by all workers."""

    __tablename__ = "login_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    ip_hash: Mapped[str] = mapped_column(sa.String(64), index=True)
    account_id: Mapped[int | None]
