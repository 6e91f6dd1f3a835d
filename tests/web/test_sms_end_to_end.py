"""Acceptance: a signed SMS in, the matcher, the outbox, the real twilio client, and back.

The real ``twilio`` client talks to a fake Twilio on 127.0.0.1 (tests/support/fake_twilio.py).
"""

from __future__ import annotations

from datetime import date, time

import pytest
import sqlalchemy as sa
from support.factories import CAJARC, WHERE, add_driver, add_offer
from support.fake_twilio import FakeTwilio
from twilio.request_validator import RequestValidator

from carpool.db import point
from carpool.models import (
    Driver,
    InboundMessage,
    Match,
    MatchStatus,
    OutboundMessage,
    OutboundStatus,
    Resident,
)
from carpool.notify.backends import backend_from_config
from carpool.notify.dispatcher import dispatch_once

RESIDENT = "+33639981234"
SMS_NUMBER = "+33639980000"


@pytest.fixture
def fake():
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def app(db, clock, fake):
    from carpool import create_app

    return create_app({"TESTING": True, "DATABASE": db, "CLOCK": clock, "TWILIO_AUTH_TOKEN": fake.auth_token})


@pytest.fixture
def backend(fake):
    return backend_from_config(
        {
            "SMS_BACKEND": "twilio",
            "TWILIO_ACCOUNT_SID": fake.account_sid,
            "TWILIO_AUTH_TOKEN": fake.auth_token,
            "TWILIO_FROM": SMS_NUMBER,
            "TWILIO_API_BASE_URL": fake.base_url,
        }
    )


@pytest.fixture
def lot(session, association):
    session.add(
        Resident(
            association_id=association.id,
            phone=RESIDENT,
            first_name="Jeanne",
            last_name="Delpech",
            home_commune_insee=CAJARC,
            home_point=point(*WHERE[CAJARC]),
        )
    )
    driver = add_driver(session, association)
    add_offer(session, driver, depart=time(8, 0), day=date(2026, 11, 24))
    session.commit()
    return driver


def signed_text(client, fake, body: str, sid: str):
    form = {
        "MessageSid": sid,
        "AccountSid": fake.account_sid,
        "From": RESIDENT,
        "To": SMS_NUMBER,
        "Body": body,
    }
    signature = RequestValidator(fake.auth_token).compute_signature("http://localhost/sms/inbound", form)
    return client.post("/sms/inbound", data=form, headers={"X-Twilio-Signature": signature})


def test_a_resident_books_a_ride_by_sms_end_to_end(client, db, clock, fake, backend, lot):
    assert (
        signed_text(
            client, fake, "Bonjour jai rdv a lhopital de cahors mardi a 10h", "SM" + "1" * 32
        ).status_code
        == 200
    )
    dispatch_once(db, backend, clock)

    (proposal,) = fake.messages
    assert proposal["to"] == RESIDENT
    assert proposal["from"] == SMS_NUMBER
    assert "Sophie vous prend à 8h" in proposal["body"]
    assert "/sms/status?outbox=" in proposal["status_callback"]

    assert signed_text(client, fake, "1", "SM" + "2" * 32).status_code == 200
    dispatch_once(db, backend, clock)

    with db.session() as session:
        match = session.scalars(sa.select(Match)).one()
        driver_phone = session.get_one(Driver, match.driver_id).phone
        assert match.status is MatchStatus.CONFIRMED
    by_recipient = {m["to"]: m["body"] for m in fake.messages[1:]}
    assert by_recipient[RESIDENT].startswith("C'est confirmé : Sophie passe vous prendre mardi 24 nov. à")
    assert by_recipient[driver_phone].startswith("Passager confirmé : Jeanne")
    assert len(fake.messages) == 3


def test_the_delivery_report_marks_the_sms_delivered(client, db, clock, fake, backend, lot):
    signed_text(client, fake, "rdv hopital de cahors mardi 10h", "SM" + "3" * 32)
    dispatch_once(db, backend, clock)
    with db.session() as session:
        row = session.scalars(sa.select(OutboundMessage)).one()
    url = f"http://localhost/sms/status?outbox={row.id}"
    form = {"MessageSid": row.provider_sid, "MessageStatus": "delivered"}
    signature = RequestValidator(fake.auth_token).compute_signature(url, form)

    response = client.post(
        f"/sms/status?outbox={row.id}", data=form, headers={"X-Twilio-Signature": signature}
    )

    assert response.status_code == 204
    with db.session() as session:
        assert session.get_one(OutboundMessage, row.id).status is OutboundStatus.DELIVERED


def test_a_forged_delivery_report_is_refused(client, db, lot):
    response = client.post("/sms/status?outbox=1", data={"MessageSid": "SMx", "MessageStatus": "failed"})

    assert response.status_code == 403


def test_every_sms_to_the_resident_names_them_and_none_to_the_driver_does(client, db, clock, fake, lot):
    signed_text(client, fake, "Bonjour jai rdv a lhopital de cahors mardi a 10h", "SM" + "3" * 32)
    signed_text(client, fake, "1", "SM" + "4" * 32)

    with db.session() as session:
        resident_id = session.scalars(sa.select(Resident.id)).one()
        sent = session.execute(sa.select(OutboundMessage.to_phone, OutboundMessage.resident_id)).all()
        received = set(session.scalars(sa.select(InboundMessage.resident_id)))
    assert {named for phone, named in sent if phone == RESIDENT} == {resident_id}
    assert {named for phone, named in sent if phone != RESIDENT} == {None}
    assert received == {resident_id} and len(sent) == 3
