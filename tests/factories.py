"""Test data builders: real rows for drivers, offers, residents and requests in the Lot."""

from __future__ import annotations

import itertools
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from carpool.db import point
from carpool.gazetteer import read_communes
from carpool.models import (
    Association,
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
SERVICE_NUMBER = "+33639980000"
"""The association's SMS number (``add_association``) in E.164, as Twilio posts it in "To"."""
_sids = itertools.count(1)
_resident_phones = itertools.count(100)


def add_association(session) -> Association:
    """The Lot's association, answering texts on :data:`SERVICE_NUMBER`."""
    association = Association(name="Lot Mobilité", sms_number="06 39 98 00 00", phone="05 39 98 00 01")
    session.add(association)
    session.flush()
    return association


def add_resident(session, association, phone: str | None = None, **fields) -> Resident:
    """Jeanne Delpech at home in Cajarc (a fresh phone number unless one is given)."""
    resident = Resident(
        association_id=association.id,
        phone=phone or f"+336399{next(_resident_phones):05d}",
        first_name="Jeanne",
        last_name="Delpech",
        home_commune_insee=CAJARC,
        home_point=point(*WHERE[CAJARC]),
        **fields,
    )
    session.add(resident)
    session.flush()
    return resident


def new_message_sid() -> str:
    """A Twilio-shaped message SID never used before in this test run."""
    return f"SM{next(_sids):032d}"


def post_text(client, body: str, sender: str, sid: str | None = None, **extra: str):
    """A resident texts the service: Twilio's webhook POST, as the fake Twilio would send it."""
    form = {"MessageSid": sid or new_message_sid(), "From": sender, "To": SERVICE_NUMBER, "Body": body}
    return client.post("/sms/inbound", data={**form, **extra})


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
