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
    Match,
    Offer,
    Purpose,
    Request,
    RequestSource,
    Resident,
    UserAccount,
    VettingStatus,
)
from carpool.services import bookings, drivers

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


def make_driver(
    session,
    association,
    clock,
    *,
    email="sophie@example.org",
    phone="06 39 98 10 01",
    vetting=VettingStatus.VETTED,
    first_name="Sophie",
    seats=4,
    home=FIGEAC,
) -> UserAccount:
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
