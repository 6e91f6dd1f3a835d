"""Builders shared by the drivers' web and API tests (plain functions, not fixtures)."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

import sqlalchemy as sa
from factories import CAHORS, CAJARC, FIGEAC, WHERE

from carpool.db import point
from carpool.models import (
    Association,
    Driver,
    Match,
    Offer,
    OutboundMessage,
    Purpose,
    Request,
    RequestSource,
    Resident,
    UserAccount,
    VettingStatus,
)
from carpool.services import bookings, drivers, phone_check
from carpool.text import normalise_mobile

PASSWORD = "cheval-agrafe-42"
#: The offer form as a driver fills it: Figeac → the hospital, Tuesday 1 December at 8:00.
OFFER_FORM = {
    "origin": "Figeac",
    "destination": "Centre hospitalier de Cahors",
    "day": "2026-12-01",
    "depart": "08:00",
    "flex_min": "15",
    "seats": "3",
    "max_detour_min": "20",
}


def make_association(
    session, name: str = "Lot Mobilité", phone: str | None = "05 39 98 00 01"
) -> Association:
    association = Association(name=name, sms_number="06 39 98 00 00", phone=phone)
    session.add(association)
    session.commit()
    return association


#: The phone of the first driver a test makes; later ones get their own (one account per phone).
FIRST_PHONE = "06 39 98 10 01"
_driver_phones = iter(range(2000, 9999))


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


def prove_phone_on_the_web(client, phone: str = FIRST_PHONE) -> str:
    """The sign-up's first two steps as a person does them; returns the phone in E.164."""
    response = client.post("/conducteurs/inscription/numero", data={"phone": phone})
    assert response.status_code == 302, response.get_data(as_text=True)
    database = client.application.config["DATABASE"]
    e164 = normalise_mobile(phone)
    with database.session() as session:
        code = sent_code(session, e164)
    response = client.post("/conducteurs/inscription/code", data={"code": code})
    assert response.status_code == 302, response.get_data(as_text=True)
    return e164


def _free_phone(session) -> str:
    """FIRST_PHONE, or a fresh number when a driver already has it."""
    phone = FIRST_PHONE
    while session.scalar(sa.select(Driver.id).where(Driver.phone == normalise_mobile(phone))):
        number = next(_driver_phones)
        phone = f"06 39 98 {number // 100:02d} {number % 100:02d}"
    return phone


def make_driver(
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
    """A driver signed up through the service, their phone proven with the code step first."""
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


def log_in(client, user: UserAccount) -> None:
    """Put the account in the client's session cookie, as a successful log-in does."""
    now = int(client.application.extensions["carpool.clock"].now().timestamp())
    with client.session_transaction() as cookie:
        cookie["user_id"] = user.id
        cookie["session_version"] = user.session_version
        cookie["login_at"] = cookie["seen_at"] = now


_phones = iter(range(1000, 9999))


def add_resident(session, association, *, first_name="Jeanne", wheelchair=False, walker=False) -> Resident:
    resident = Resident(
        association_id=association.id,
        phone=f"+3363997{next(_phones):04d}",
        first_name=first_name,
        last_name="Delpech",
        home_commune_insee=CAJARC,
        home_point=point(*WHERE[CAJARC]),
        uses_wheelchair=wheelchair,
        uses_walker=walker,
    )
    session.add(resident)
    session.flush()
    return resident


def propose_passenger(
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
    """A resident's request and a match proposed to this driver, as the SMS flow makes them."""
    resident = resident or add_resident(session, association)
    pickup_at = pickup_at or (
        offer.depart_earliest + timedelta(minutes=20) if offer else clock.now() + timedelta(days=2)
    )
    request = Request(
        association_id=association.id,
        resident_id=resident.id,
        pickup_commune_insee=CAJARC,
        pickup_point=point(*WHERE[CAJARC]),
        dropoff_commune_insee=CAHORS,
        dropoff_point=point(*WHERE[CAHORS]),
        earliest=pickup_at - timedelta(hours=1),
        latest=pickup_at + timedelta(hours=1),
        passengers=passengers,
        purpose=Purpose.MEDICAL,
        source=RequestSource.SMS,
    )
    session.add(request)
    session.flush()
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


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def count(session, model) -> int:
    """Rows of ``model``; ends the read at once (on SQLite a reading test would hold the write lock)."""
    n = session.scalar(sa.select(sa.func.count()).select_from(model))
    session.commit()
    return n


def one(session, query):
    """``session.scalars(query).one()`` from fresh data, ending the transaction straight away."""
    row = session.scalars(query.execution_options(populate_existing=True)).one()
    session.commit()
    return row


def text(response) -> str:
    """The page as a person reads it (entities decoded)."""
    return html.unescape(response.get_data(as_text=True))
