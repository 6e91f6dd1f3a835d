"""Twilio signatures: what tests/web/test_sms_webhook.py does not cover yet.

There: missing, forged and body-tampered signatures on /sms/inbound, and the proxy URL.
Here: an exact replay is processed once, and the status callback is just as strict.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from twilio.request_validator import RequestValidator

from carpool.models import InboundMessage

TOKEN = "12345678901234567890123456789012"
STATUS = {"MessageSid": "SM" + "7" * 32, "MessageStatus": "delivered"}


@pytest.fixture
def app(db, clock):
    from carpool import create_app

    return create_app({"TESTING": True, "DATABASE": db, "CLOCK": clock, "TWILIO_AUTH_TOKEN": TOKEN})


def sign(url: str, form: dict[str, str]) -> dict[str, str]:
    return {"X-Twilio-Signature": RequestValidator(TOKEN).compute_signature(url, form)}


def test_a_genuine_message_replayed_as_is_is_stored_once(client, db, association):
    form = {"MessageSid": "SM" + "5" * 32, "From": "+33639981234", "To": "+33639980000", "Body": "aide"}
    headers = sign("http://localhost/sms/inbound", form)

    first = client.post("/sms/inbound", data=form, headers=headers)
    replayed = client.post("/sms/inbound", data=form, headers=headers)

    assert (first.status_code, replayed.status_code) == (200, 200)
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(InboundMessage)) == 1


def test_a_genuine_status_callback_is_accepted(client):
    response = client.post(
        "/sms/status?outbox=1", data=STATUS, headers=sign("http://localhost/sms/status?outbox=1", STATUS)
    )

    assert response.status_code == 204


@pytest.mark.parametrize("headers", [{}, {"X-Twilio-Signature": "forged=="}])
def test_a_status_callback_without_a_valid_signature_is_refused(client, headers):
    assert client.post("/sms/status?outbox=1", data=STATUS, headers=headers).status_code == 403


def test_a_status_signature_replayed_for_another_message_is_refused(client):
    headers = sign("http://localhost/sms/status?outbox=1", STATUS)

    assert client.post("/sms/status?outbox=2", data=STATUS, headers=headers).status_code == 403


def test_a_status_signature_replayed_with_another_state_is_refused(client):
    headers = sign("http://localhost/sms/status?outbox=1", STATUS)
    tampered = {**STATUS, "MessageStatus": "failed"}

    assert client.post("/sms/status?outbox=1", data=tampered, headers=headers).status_code == 403
