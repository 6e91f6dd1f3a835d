"""Trips longer than 100 km (R3133-4 of the Code des transports, see docs/law.md).

A transport d'utilité sociale covers trips of 100 km at most. The router's distance of
the way there (``carpool.matching.CrowFlyRouter``, as the matcher and the mileage
statements use) is stored on the request when it is asked. On the phone the coordinator
must write why a longer trip is still made; a request by SMS cannot ask that of the
resident, so it waits for a coordinator on the "Aujourd'hui" page until they write it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.db import lon_lat
from carpool.errors import InvalidInput
from carpool.models import Request, RequestStatus
from carpool.services import audit
from carpool.services.mileage import ROUTER

#: The longest trip of a transport d'utilité sociale (R3133-4), in router kilometres.
LONG_TRIP_KM = 100.0
REASON_MAX = 500
FIELD = "long_trip_reason"


def route_km(pickup_point: Any, dropoff_point: Any) -> float:
    """The router's distance between two stored points, in km (three decimals)."""
    return km_between(lon_lat(pickup_point), lon_lat(dropoff_point))


def km_between(pickup: tuple[float, float], dropoff: tuple[float, float]) -> float:
    """The router's distance between two (lon, lat), in km (three decimals)."""
    return round(ROUTER.distance_km(pickup, dropoff), 3)


def is_long(km: float | None) -> bool:
    return km is not None and km > LONG_TRIP_KM


def measure(request: Request, reason: str = "", *, required: bool) -> None:
    """Store the request's distance and the reason given; ``required``: refuse a long trip without one."""
    request.route_km = route_km(request.pickup_point, request.dropoff_point)
    reason = reason.strip()[:REASON_MAX]
    if is_long(request.route_km):
        if required and not reason:
            raise InvalidInput.on(FIELD, _refusal(request.route_km))
        request.long_trip_reason = reason or None


def _refusal(km: float) -> str:
    return (
        f"Ce trajet fait environ {km:.0f} km, plus que les 100 km du transport d'utilité sociale : "
        "indiquez pourquoi il est quand même assuré."
    )


def set_reason(session: Session, request: Request, reason: str, *, actor: str) -> None:
    """A coordinator writes why a long trip is made (audited); an empty reason is refused."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput.on(FIELD, "Indiquez pourquoi ce trajet de plus de 100 km est assuré.")
    if len(reason) > REASON_MAX:
        raise InvalidInput.on(FIELD, f"Le motif doit tenir en {REASON_MAX} caractères.")
    request.long_trip_reason = reason
    audit.record(
        session, actor, "request.long_trip_reason", subject=request, association_id=request.association_id
    )


def waiting_reason(session: Session, association_id: int, now: datetime) -> list[Request]:
    """Live requests of more than 100 km whose reason nobody has written yet, soonest first."""
    return list(
        session.scalars(
            sa.select(Request)
            .where(
                Request.association_id == association_id,
                Request.route_km > LONG_TRIP_KM,
                Request.long_trip_reason.is_(None),
                Request.status.in_([RequestStatus.OPEN, RequestStatus.MATCHED]),
                Request.latest >= now,
            )
            .order_by(Request.latest, Request.id)
        )
    )
