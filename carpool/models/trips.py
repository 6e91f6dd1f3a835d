"""Rides offered, rides asked for, and the matches between them.

Match states (the booking state machine; transitions live in
``carpool.services.bookings.transition`` and each one is audited)::

    proposed ──driver accepts──▶ accepted ──passenger confirms──▶ confirmed ──▶ completed
       │  └──driver declines──▶ declined                 │                 └──▶ no_show
       └──nobody answers──▶ expired                      └──▶ cancelled (by passenger, driver
                                                              or coordinator, with a reason)

``proposed`` and ``accepted`` can also be cancelled. ``declined``, ``expired``,
``cancelled``, ``completed`` and ``no_show`` are final.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from carpool.clock import utcnow
from carpool.db import point_type
from carpool.models.base import Base, Timestamped, enum_column

#: What an offer holds when the driver leaves a field out: the forms, the API, its
#: description and the services all read these, so a driver gets the same ride everywhere.
OFFER_FLEX_MIN = 15
OFFER_SEATS = 3
OFFER_MAX_DETOUR_MIN = 15


class OfferStatus(enum.Enum):
    OPEN = "open"
    CANCELLED = "cancelled"
    DONE = "done"


class Offer(Timestamped, Base):
    """A trip a driver makes anyway (A → B around a time) with free seats to share."""

    __tablename__ = "offer"
    __table_args__ = (
        sa.CheckConstraint("seats_left >= 0 AND seats_left <= seats_total", name="seats_left_range"),
        sa.CheckConstraint("seats_total BETWEEN 1 AND 8", name="seats_total_range"),
        sa.CheckConstraint("depart_latest >= depart_earliest", name="window_order"),
        sa.CheckConstraint("max_detour_min BETWEEN 0 AND 120", name="detour_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    driver_id: Mapped[int] = mapped_column(sa.ForeignKey("driver.id"), index=True)
    origin_commune_insee: Mapped[str] = mapped_column(sa.ForeignKey("commune.insee"))
    origin_point: Mapped[Any] = mapped_column(point_type())
    destination_commune_insee: Mapped[str] = mapped_column(sa.ForeignKey("commune.insee"))
    destination_point: Mapped[Any] = mapped_column(point_type())
    destination_place_id: Mapped[int | None] = mapped_column(sa.ForeignKey("named_place.id"))
    depart_earliest: Mapped[datetime] = mapped_column(index=True)
    depart_latest: Mapped[datetime]
    seats_total: Mapped[int]
    seats_left: Mapped[int]
    max_detour_min: Mapped[int] = mapped_column(default=OFFER_MAX_DETOUR_MIN)
    status: Mapped[OfferStatus] = enum_column(OfferStatus, default=OfferStatus.OPEN)
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    origin_place_id: Mapped[int | None] = mapped_column(sa.ForeignKey("named_place.id"))
    # The way back of a return trip points to its outward offer; a weekly series shares series_id.
    return_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("offer.id"), index=True)
    series_id: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)
    # Set on every change (bookings included): the matcher's cached index keys on it.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow, index=True)


class Purpose(enum.Enum):
    MEDICAL = "medical"
    SHOPPING = "shopping"
    ADMINISTRATION = "administration"
    SOCIAL = "social"
    OTHER = "other"


class RequestStatus(enum.Enum):
    OPEN = "open"  # waiting for a match
    MATCHED = "matched"  # a match is under way or confirmed
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # its time passed without a match: counted as unmet demand
    DONE = "done"


class RequestSource(enum.Enum):
    SMS = "sms"
    PHONE = "phone"
    WEB = "web"


class Request(Timestamped, Base):
    """A resident's wish to be taken somewhere, with the times that matter to them."""

    __tablename__ = "ride_request"
    __table_args__ = (
        sa.CheckConstraint("latest > earliest", name="window_order"),
        sa.CheckConstraint("passengers BETWEEN 1 AND 8", name="passengers_range"),
        sa.Index("uq_ride_request_series_day", "series_id", "series_day", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    association_id: Mapped[int] = mapped_column(sa.ForeignKey("association.id"), index=True)
    resident_id: Mapped[int] = mapped_column(sa.ForeignKey("resident.id"), index=True)
    pickup_commune_insee: Mapped[str] = mapped_column(sa.ForeignKey("commune.insee"))
    pickup_point: Mapped[Any] = mapped_column(point_type())
    dropoff_commune_insee: Mapped[str] = mapped_column(sa.ForeignKey("commune.insee"))
    dropoff_point: Mapped[Any] = mapped_column(point_type())
    dropoff_place_id: Mapped[int | None] = mapped_column(sa.ForeignKey("named_place.id"))
    earliest: Mapped[datetime]  # not picked up before
    latest: Mapped[datetime] = mapped_column(index=True)  # dropped off by (the appointment)
    # The way back, if asked: ready to leave from return_at, home by return_latest (return_at plus
    # the association's return window unless said otherwise). Checked by the services, not a CHECK:
    # SQLite adds one only by copying the table, and this one holds geometries.
    return_at: Mapped[datetime | None]
    return_latest: Mapped[datetime | None]
    # The resident or a coordinator accepted going without a way back ("ma fille me ramène"):
    # the request is then served by its outward leg alone.
    one_way: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    passengers: Mapped[int] = mapped_column(default=1)
    purpose: Mapped[Purpose] = enum_column(Purpose, default=Purpose.OTHER)
    source: Mapped[RequestSource] = enum_column(RequestSource)
    status: Mapped[RequestStatus] = enum_column(RequestStatus, default=RequestStatus.OPEN)
    unmatched_reason: Mapped[str | None] = mapped_column(sa.String(40))
    note: Mapped[str] = mapped_column(sa.Text, default="")
    # An occurrence of a resident's series, on that series' day (Europe/Paris): one per day,
    # so two schedulers materialising at once cannot both add it.
    series_id: Mapped[int | None] = mapped_column(sa.ForeignKey("appointment_series.id"))
    series_day: Mapped[date | None]
    # The router's distance of the way there when asked; above 100 km (R3133-4) a coordinator
    # writes why the trip is still made (``long_trip_reason``).
    route_km: Mapped[float | None]
    long_trip_reason: Mapped[str | None] = mapped_column(sa.Text)


class Leg(enum.Enum):
    """Which way a match takes the resident: to the appointment, or home again."""

    OUT = "out"
    BACK = "back"


class MatchStatus(enum.Enum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    EXPIRED = "expired"


#: Allowed moves of the booking state machine (see the module docstring).
MATCH_TRANSITIONS: dict[MatchStatus, frozenset[MatchStatus]] = {
    MatchStatus.PROPOSED: frozenset(
        {MatchStatus.ACCEPTED, MatchStatus.DECLINED, MatchStatus.EXPIRED, MatchStatus.CANCELLED}
    ),
    MatchStatus.ACCEPTED: frozenset({MatchStatus.CONFIRMED, MatchStatus.CANCELLED, MatchStatus.EXPIRED}),
    MatchStatus.CONFIRMED: frozenset({MatchStatus.COMPLETED, MatchStatus.CANCELLED, MatchStatus.NO_SHOW}),
    MatchStatus.DECLINED: frozenset(),
    MatchStatus.COMPLETED: frozenset(),
    MatchStatus.CANCELLED: frozenset(),
    MatchStatus.NO_SHOW: frozenset(),
    MatchStatus.EXPIRED: frozenset(),
}

#: The SQL of "this match holds its leg" (SEAT_HOLDING), for the partial unique index below.
LIVE_LEG = "status IN ('proposed', 'accepted', 'confirmed')"

#: States in which a match holds seats on its offer.
SEAT_HOLDING = frozenset({MatchStatus.PROPOSED, MatchStatus.ACCEPTED, MatchStatus.CONFIRMED})


class Match(Timestamped, Base):
    """A driver taking a request: on an offer (en-route) or as a dedicated volunteer trip."""

    __tablename__ = "ride_match"
    __table_args__ = (
        sa.CheckConstraint("seats >= 1", name="seats_positive"),
        # One live match per leg of a request: two people booking the same way back at once
        # cannot both succeed, whatever the code path (a partial unique index on both backends).
        sa.Index(
            "uq_ride_match_live_leg",
            "request_id",
            "leg",
            unique=True,
            sqlite_where=sa.text(LIVE_LEG),
            postgresql_where=sa.text(LIVE_LEG),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("ride_request.id"), index=True)
    driver_id: Mapped[int] = mapped_column(sa.ForeignKey("driver.id"), index=True)
    offer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("offer.id"), index=True)
    seats: Mapped[int] = mapped_column(default=1)
    # A round trip is two matches on one request, one per leg, each with its own driver and state.
    leg: Mapped[Leg] = enum_column(Leg, default=Leg.OUT, server_default=Leg.OUT.value)
    pickup_at: Mapped[datetime] = mapped_column(index=True)
    dropoff_at: Mapped[datetime]
    detour_min: Mapped[float] = mapped_column(default=0.0)
    status: Mapped[MatchStatus] = enum_column(MatchStatus, default=MatchStatus.PROPOSED)
    status_changed_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]  # for "time from request to confirmation"
    cancelled_by: Mapped[str | None] = mapped_column(sa.String(20))
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)
    # After the trip the passenger is asked "did it go well?" once (carpool/jobs.py); the answer lands here.
    feedback_asked_at: Mapped[datetime | None]
    feedback_ok: Mapped[bool | None]
    feedback_at: Mapped[datetime | None]
