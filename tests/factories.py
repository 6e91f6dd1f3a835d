"""Test data builders: real rows for drivers, offers, residents and requests in the Lot."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from carpool.db import point
from carpool.gazetteer import read_communes
from carpool.models import (
    Conversation,
    Driver,
    InboundMessage,
    Offer,
    OutboundMessage,
    OutboundStatus,
    Purpose,
    Request,
    RequestSource,
    Resident,
    VettingStatus,
)

PARIS = ZoneInfo("Europe/Paris")
WHERE = {c.insee: (c.lon, c.lat) for c in read_communes()}
FIGEAC, CAHORS, CAJARC, GOURDON = "46102", "46042", "46045", "46127"
TUESDAY = datetime(2026, 12, 1, tzinfo=PARIS)


def add_driver(session, association, insee=FIGEAC, vetting=VettingStatus.VETTED, **fields) -> Driver:
    n = session.scalar(sa.select(sa.func.count()).select_from(Driver))
    driver = Driver(
        association_id=association.id,
        first_name="Sophie",
        last_name="Delmas",
        email=f"d{n}@example.org",
        phone=f"+3363998{n:04d}",
        home_commune_insee=insee,
        home_point=point(*WHERE[insee]),
        vetting=vetting,
        **fields,
    )
    session.add(driver)
    session.flush()
    return driver


def add_offer(
    session, driver, depart=time(8, 0), origin=FIGEAC, destination=CAHORS, seats=3, day=None
) -> Offer:
    start = datetime.combine(day or TUESDAY.date(), depart, tzinfo=PARIS)
    offer = Offer(
        driver_id=driver.id,
        origin_commune_insee=origin,
        origin_point=point(*WHERE[origin]),
        destination_commune_insee=destination,
        destination_point=point(*WHERE[destination]),
        depart_earliest=start,
        depart_latest=start + timedelta(minutes=15),
        seats_total=seats,
        seats_left=seats,
        max_detour_min=20,
    )
    session.add(offer)
    session.flush()
    return offer


def add_request(
    session,
    association,
    pickup=CAJARC,
    dropoff=CAHORS,
    appointment=time(10, 0),
    *,
    resident: Resident | None = None,
    latest: datetime | None = None,
    **fields,
) -> Request:
    """A medical request by SMS from ``resident`` (default: a new Jeanne Delpech), for Tuesday."""
    if resident is None:
        resident = Resident(
            association_id=association.id,
            phone="+33639981234",
            first_name="Jeanne",
            last_name="Delpech",
            home_commune_insee=pickup,
        )
        session.add(resident)
        session.flush()
    latest = latest or datetime.combine(TUESDAY.date(), appointment, tzinfo=PARIS)
    request = Request(
        association_id=association.id,
        resident_id=resident.id,
        pickup_commune_insee=pickup,
        pickup_point=point(*WHERE[pickup]),
        dropoff_commune_insee=dropoff,
        dropoff_point=point(*WHERE[dropoff]),
        earliest=latest - timedelta(hours=3),
        latest=latest,
        purpose=Purpose.MEDICAL,
        source=RequestSource.SMS,
        **fields,
    )
    session.add(request)
    session.flush()
    return request


def add_texts(session, association, person) -> None:
    """A text each way (one delivered, one still pending) and a conversation under way."""
    session.add_all(
        [
            InboundMessage(
                message_sid="SM1",
                association_id=association.id,
                resident_id=person.id,
                from_phone=person.phone,
                body="Bonjour, rdv cardiologue mardi",
            ),
            OutboundMessage(
                idempotency_key="k1",
                association_id=association.id,
                resident_id=person.id,
                to_phone=person.phone,
                body="Sophie vous prendra mardi",
                status=OutboundStatus.DELIVERED,
            ),
            OutboundMessage(
                idempotency_key="k2",
                association_id=association.id,
                resident_id=person.id,
                to_phone=person.phone,
                body="Rappel : demain 9 h",
                status=OutboundStatus.PENDING,
            ),
            Conversation(phone=person.phone, draft={"purpose": "medical"}),
        ]
    )
    session.flush()
