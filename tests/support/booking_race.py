"""Worker for the multi-process booking race (imported by spawned processes)."""

from __future__ import annotations

from carpool.clock import Clock
from carpool.db import Database
from carpool.models import Request
from carpool.services.bookings import BookingError, propose


def try_to_book(database_url: str, request_id: int, offer_id: int, driver_id: int) -> bool:
    database = Database(database_url)
    try:
        with database.session() as session:
            request = session.get_one(Request, request_id)
            propose(
                session,
                request,
                driver_id=driver_id,
                offer_id=offer_id,
                pickup_at=request.earliest,
                dropoff_at=request.latest,
                detour_min=5.0,
                actor="test",
                clock=Clock(),
            )
        return True
    except BookingError:
        return False
    finally:
        database.dispose()
