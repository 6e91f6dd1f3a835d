"""Test data builders, one verb (``add_*``): real rows in the Lot, flushed (or committed where said).

Rows are built directly, except accounts and proposals, which go through the services as a
sign-up or the matcher would make them.
"""

from __future__ import annotations

import itertools
import re
from datetime import datetime, time, timedelta

import sqlalchemy as sa

from carpool.clock import PARIS
from carpool.db import point
from carpool.field_encryption import SecretBox
from carpool.gazetteer import read_communes
from carpool.models import (
    Association,
    Conversation,
    Driver,
    InboundMessage,
    Match,
    MatchStatus,
    Offer,
    OutboundMessage,
    OutboundStatus,
    Purpose,
    Request,
    RequestSource,
    RequestStatus,
    Resident,
    Role,
    UserAccount,
    VettingStatus,
)
from carpool.services import accounts, bookings, drivers, phone_check
from carpool.text import normalise_mobile

WHERE = {c.insee: (c.lon, c.lat) for c in read_communes()}
FIGEAC, CAHORS, CAJARC, GOURDON = "46102", "46042", "46045", "46127"
TUESDAY = datetime(2026, 12, 1, tzinfo=PARIS)
SERVICE_NUMBER = "+33639980000"
#: The resident of the SMS conversation tests (and of add_request when none is given).
RESIDENT_PHONE = "+33639981234"
"""The association's SMS number (``add_association``) in E.164, as Twilio posts it in "To"."""
#: The password of every account built here.
PASSWORD = "cheval-agrafe-42"
#: The second factor of the coordinators built here (tests compute their codes from it).
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
#: Seals second-factor keys as the app fixture does (its SECRET_KEY is "test").
TEST_BOX = SecretBox.from_settings("test")
#: The phone of the first driver account a test makes; later ones get their own.
FIRST_PHONE = "06 39 98 10 01"
_sids = itertools.count(1)
#: Fresh residents' phones: 06 39 97 60 00 to 06 39 97 99 99, clear of the numbers tests type.
_resident_phones = itertools.count()
_driver_phones = iter(range(2000, 9999))


def add_association(
    session,
    name: str = "Lot Mobilité",
    *,
    sms_number: str | None = "06 39 98 00 00",
    phone: str | None = "05 39 98 00 01",
    **fields,
) -> Association:
    """The Lot's association, answering texts on :data:`SERVICE_NUMBER` (names are unique)."""
    association = Association(name=name, sms_number=sms_number, phone=phone, **fields)
    session.add(association)
    session.flush()
    return association


def add_resident(
    session,
    association,
    phone: str | None = None,
    *,
    first_name: str = "Jeanne",
    home: str = CAJARC,
    wheelchair: bool = False,
    walker: bool = False,
    **fields,
) -> Resident:
    """Jeanne Delpech at home in Cajarc (a fresh phone number unless one is given)."""
    resident = Resident(
        association_id=association.id,
        phone=phone or f"+3363997{6000 + next(_resident_phones) % 4000:04d}",
        first_name=first_name,
        last_name="Delpech",
        home_commune_insee=home,
        home_point=point(*WHERE[home]),
        uses_wheelchair=wheelchair,
        uses_walker=walker,
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


def add_driver(
    session,
    association,
    insee=FIGEAC,
    vetting=VettingStatus.VETTED,
    *,
    first_name: str = "Sophie",
    last_name: str = "Delmas",
    **fields,
) -> Driver:
    """A driver row (no account) living in ``insee``; see :func:`add_driver_account` for one who logs in."""
    n = session.scalar(sa.select(sa.func.count()).select_from(Driver))
    driver = Driver(
        association_id=association.id,
        first_name=first_name,
        last_name=last_name,
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
    window: timedelta = timedelta(hours=3),
    purpose: Purpose = Purpose.MEDICAL,
    source: RequestSource = RequestSource.SMS,
    pickup_point=None,
    **fields,
) -> Request:
    """A request from ``pickup`` to ``dropoff``, to arrive by ``latest`` (default: Tuesday at
    ``appointment``) and ready ``window`` earlier; by ``resident`` (default: a new Jeanne Delpech)."""
    if resident is None:
        resident = add_resident(session, association, RESIDENT_PHONE, home=pickup)
    latest = latest or datetime.combine(TUESDAY.date(), appointment, tzinfo=PARIS)
    request = Request(
        association_id=association.id,
        resident_id=resident.id,
        pickup_commune_insee=pickup,
        pickup_point=pickup_point if pickup_point is not None else point(*WHERE[pickup]),
        dropoff_commune_insee=dropoff,
        dropoff_point=point(*WHERE[dropoff]),
        earliest=latest - window,
        latest=latest,
        purpose=purpose,
        source=source,
        **fields,
    )
    session.add(request)
    session.flush()
    return request


def add_trip(
    session,
    association,
    *,
    pickup_at: datetime,
    booked_at: datetime,
    status: MatchStatus = MatchStatus.CONFIRMED,
    driver: Driver | None = None,
    person: Resident | None = None,
    ride: timedelta = timedelta(minutes=40),
) -> Match:
    """A dedicated-volunteer match (no offer) booked at ``booked_at`` for ``pickup_at``."""
    person = person or add_resident(session, association)
    driver = driver or add_driver(session, association)
    request = add_request(
        session,
        association,
        resident=person,
        latest=pickup_at + ride + timedelta(minutes=10),
        source=RequestSource.PHONE,
        status=RequestStatus.MATCHED,
    )
    match = Match(
        request_id=request.id,
        driver_id=driver.id,
        pickup_at=pickup_at,
        dropoff_at=pickup_at + ride,
        status=status,
        status_changed_at=booked_at,
        created_at=booked_at,
    )
    session.add(match)
    session.flush()
    return match


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
            Conversation(association_id=association.id, phone=person.phone, draft={"purpose": "medical"}),
        ]
    )
    session.flush()


# Accounts and proposals, made through the services as a sign-up or the matcher makes them.


def sent_code(session, phone: str) -> str:
    """The last sign-up code texted to ``phone`` (E.164), read from the outbox as the phone would."""
    body = session.scalars(
        sa.select(OutboundMessage.body)
        .where(OutboundMessage.to_phone == phone, OutboundMessage.idempotency_key.like("signup-code:%"))
        .order_by(OutboundMessage.id.desc())
    ).first()
    match = re.search(r"\b(\d{6})\b", body or "")
    assert match, f"no sign-up code sent to {phone}"
    return match.group(1)


def prove_phone(session, phone: str, clock) -> int:
    """The sign-up's code step done through the service: send a code, type it back; the proof's id.

    The code's SMS row is then removed, as if delivered and forgotten: the tests that use a
    driver count the SMS their own scenario queues.
    """
    verification = phone_check.send_code(session, phone, f"kit:{phone}", clock)
    problem = phone_check.confirm_code(
        session, verification.id, sent_code(session, verification.phone), clock.now()
    )
    assert problem is None, problem
    session.execute(sa.delete(OutboundMessage).where(OutboundMessage.idempotency_key.like("signup-code:%")))
    return verification.id


def _free_phone(session) -> str:
    """FIRST_PHONE, or a fresh number when a driver already has it."""
    phone = FIRST_PHONE
    while session.scalar(sa.select(Driver.id).where(Driver.phone == normalise_mobile(phone))):
        number = next(_driver_phones)
        phone = f"06 39 98 {number // 100:02d} {number % 100:02d}"
    return phone


def add_driver_account(
    session,
    association,
    clock,
    *,
    email="sophie@example.org",
    phone=None,
    vetting=VettingStatus.VETTED,
    first_name="Sophie",
    seats=4,
    home=FIGEAC,
) -> UserAccount:
    """A driver signed up through the service, their phone proven with the code step first (committed)."""
    phone = phone or _free_phone(session)
    proof = prove_phone(session, phone, clock)
    user = drivers.sign_up(
        session,
        drivers.SignUp(
            first_name=first_name,
            last_name="Delmas",
            email=email,
            phone=phone,
            home_commune=home,
            seats=seats,
            wheelchair_accessible=False,
            password=PASSWORD,
            association_id=association.id,
            phone_proof=proof,
        ),
        clock,
    )
    if vetting is not VettingStatus.PENDING:
        driver = drivers.driver_of(session, user)
        driver.vetting = vetting
    session.commit()
    return user


def add_coordinator(
    session,
    association,
    *,
    email: str = "claire@example.org",
    role: Role = Role.COORDINATOR,
    sees_health_data: bool = True,
    totp: bool | None = None,
) -> UserAccount:
    """A coordinator (committed); enrolled in the second factor when ``totp``, or by default when required."""
    user = UserAccount(
        email=email,
        password_hash=accounts.hash_password(PASSWORD),
        role=role,
        association_id=association.id,
        sees_health_data=sees_health_data,
    )
    if totp is None:
        totp = role is Role.ADMIN or sees_health_data
    if totp:
        accounts.set_totp_secret(user, TOTP_SECRET, TEST_BOX)
    session.add(user)
    session.commit()
    return user


def add_proposal(
    session,
    association,
    user: UserAccount,
    clock,
    *,
    offer: Offer | None = None,
    resident=None,
    pickup_at: datetime | None = None,
    actor: str | None = None,
    passengers: int = 1,
) -> Match:
    """A resident's request and a match proposed to this driver, as the SMS flow makes them (committed)."""
    resident = resident or add_resident(session, association)
    pickup_at = pickup_at or (
        offer.depart_earliest + timedelta(minutes=20) if offer else clock.now() + timedelta(days=2)
    )
    request = add_request(
        session,
        association,
        resident=resident,
        latest=pickup_at + timedelta(hours=1),
        window=timedelta(hours=2),
        passengers=passengers,
    )
    match = bookings.propose(
        session,
        request,
        driver_id=user.driver_id,
        offer_id=offer.id if offer else None,
        pickup_at=pickup_at,
        dropoff_at=pickup_at + timedelta(minutes=45),
        detour_min=5.0,
        actor=actor or f"resident:{resident.id}",
        clock=clock,
    )
    session.commit()
    return match
