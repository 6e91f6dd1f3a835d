"""A resident's recurring appointments (dialysis three times a week, physiotherapy every Tuesday).

A series is not a request: the scheduler turns it into ordinary requests a few
weeks ahead (``carpool.services.series.materialise``), so the matcher, the SMS
flow and the coordinators' pages treat each occurrence like any other trip.
Places are kept as commune + point (lon/lat) + named place, like a request's,
but as plain numbers: nothing searches series by distance.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from carpool.models.base import Base, Timestamped, enum_column
from carpool.models.trips import Purpose


class SeriesState(enum.Enum):
    ACTIVE = "active"
    PAUSED = "paused"  # until paused_until (a hospital stay), then active again by itself
    ENDED = "ended"


class AppointmentSeries(Timestamped, Base):
    """Weekdays and a time (arrive by), every one or two weeks from ``first_day`` up to ``until``."""

    __tablename__ = "appointment_series"
    __table_args__ = (
        sa.CheckConstraint("every_weeks IN (1, 2)", name="every_weeks_range"),
        sa.CheckConstraint("passengers BETWEEN 1 AND 8", name="passengers_range"),
        sa.CheckConstraint("until IS NULL OR until >= first_day", name="until_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    association_id: Mapped[int] = mapped_column(sa.ForeignKey("association.id"), index=True)
    resident_id: Mapped[int] = mapped_column(sa.ForeignKey("resident.id"), index=True)
    pickup_commune_insee: Mapped[str] = mapped_column(sa.ForeignKey("commune.insee"))
    pickup_lon: Mapped[float]
    pickup_lat: Mapped[float]
    dropoff_commune_insee: Mapped[str] = mapped_column(sa.ForeignKey("commune.insee"))
    dropoff_lon: Mapped[float]
    dropoff_lat: Mapped[float]
    dropoff_place_id: Mapped[int | None] = mapped_column(sa.ForeignKey("named_place.id"))
    weekdays: Mapped[str] = mapped_column(sa.String(20))  # "0,2,4": Monday = 0
    arrive_by: Mapped[time]  # the appointment, Europe/Paris wall time
    depart_after: Mapped[time | None]  # not picked up before; None: the usual window before arrive_by
    return_at: Mapped[time | None]  # ready to come home from, same day
    every_weeks: Mapped[int] = mapped_column(default=1)
    first_day: Mapped[date]  # counts the weeks of "every other week"
    until: Mapped[date | None]  # last day included; None: until ended
    purpose: Mapped[Purpose] = enum_column(Purpose, default=Purpose.OTHER)
    passengers: Mapped[int] = mapped_column(default=1)
    state: Mapped[SeriesState] = enum_column(SeriesState, default=SeriesState.ACTIVE)
    paused_until: Mapped[date | None]  # last day without trips
    created_by: Mapped[str] = mapped_column(sa.String(80))
    ended_at: Mapped[datetime | None]

    @property
    def days(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.weekdays.split(",") if d)
