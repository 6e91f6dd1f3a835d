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
from carpool.models.tus import TusBasis


class Association(Timestamped, Base):
    """The organisation that runs the service in a territory; every record belongs to one."""

    __tablename__ = "association"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(160), unique=True)
    sms_number: Mapped[str | None] = mapped_column(sa.String(20))
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    #: What volunteers are paid back per km (or give up, for a tax receipt): see docs/money.md.
    rate_per_km: Mapped[Decimal] = mapped_column(sa.Numeric(5, 3), default=Decimal("0.529"))
    sms_retention_days: Mapped[int] = mapped_column(default=90)
    inactive_resident_retention_days: Mapped[int] = mapped_column(default=730)
    # A way back is asked as "ready from" a time; home at the latest this many minutes later.
    return_window_min: Mapped[int] = mapped_column(default=90, server_default=sa.text("90"))
    # Admins and coordinators who see health data always need a second factor; this asks it of all.
    totp_for_all_coordinators: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # Participation asked of residents per km (capped by law at 0.32 €/km), when enabled.
    participation_enabled: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    participation_per_km: Mapped[Decimal] = mapped_column(
        sa.Numeric(5, 3), default=Decimal("0.000"), server_default=sa.text("0")
    )
    # The body issuing receipts for waived expenses (Cerfa 11580): its identity on the receipt.
    legal_address: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    legal_number: Mapped[str] = mapped_column(sa.String(20), default="", server_default="")  # SIREN or RNA
    legal_object: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # The départements served (INSEE codes, comma-separated, e.g. "23,87"): what
    # ``carpool association create`` imported; empty for an association made before.
    departements: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    # The average road speed the matcher assumes (km/h, crow-fly × circuity): 50 in the
    # countryside, slower in town, where a ride of a few km takes longer than 50 km/h says.
    road_speed_kmh: Mapped[int] = mapped_column(default=50, server_default=sa.text("50"))
    # The phone line (Réglages): calls "to a person" ring the on-duty phone (E.164) within the
    # office hours, {"0": ["09:00", "12:00"], …} by weekday (0 = Monday); otherwise a voice message.
    on_duty_phone: Mapped[str | None] = mapped_column(sa.String(16))
    office_hours: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=sa.text("'{}'"))
    # Drivers' pages show the association's number and the trip reference, not the passenger's.
    number_masking: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # The association's own figures that the annual report to the prefect asks (arrêté of
    # 17 October 2019), entered once in Réglages; None until entered.
    founded_on: Mapped[date | None] = mapped_column(sa.Date)
    employees_count: Mapped[int | None]
    volunteers_count: Mapped[int | None]
    members_count: Mapped[int | None]
    tus_rules: Mapped[str] = mapped_column(sa.Text, default="", server_default="")


class Resident(Timestamped, Base):
    """A person who asks for rides, usually by SMS; identified by their mobile number."""

    __tablename__ = "resident"
    # One number per person in an association; a person helped by two associations has a
    # record in each, and the number they text (``To``) says which one answers.
    __table_args__ = (sa.UniqueConstraint("association_id", "phone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    association_id: Mapped[int] = mapped_column(sa.ForeignKey("association.id"), index=True)
    phone: Mapped[str] = mapped_column(sa.String(16), index=True)  # E.164, e.g. +33612345678
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
    # Transport d'utilité sociale: why they may be carried, the proof seen and when to see it again.
    tus_basis: Mapped[TusBasis | None] = enum_column(TusBasis, nullable=True)
    tus_benefit: Mapped[str | None] = mapped_column(sa.String(16))
    tus_proof_seen_on: Mapped[date | None] = mapped_column(sa.Date)
    tus_renew_on: Mapped[date | None] = mapped_column(sa.Date)

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
    # One account per number, across associations: the phone line, the SMS path and masking find
    # a driver by their number (services/phone_check checks first; the index settles races).
    phone: Mapped[str] = mapped_column(sa.String(16), unique=True, index=True)
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
    # Unpaid (the usual case); an employee of the association driving counts apart in the annual report.
    is_volunteer: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

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
    # Both keys are sealed (carpool/field_encryption.py): write them through services/accounts.py.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(255))
    totp_last_step: Mapped[int | None]
    # The secret shown while enrolling, kept here until a code proves it: never in the cookie.
    totp_pending_secret: Mapped[str | None] = mapped_column(sa.String(255))
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
