"""/voice/* is Twilio's only: signatures like /sms/*, and bad requests change nothing, never a 500."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from support.factories import add_driver, add_offer
from support.voicekit import Phone, check_twiml, said
from test_voice_outbound_calls import BASE, outbox, place_calls, propose

from carpool.models import Match

TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def placed(coord_client, db, request_of, offer, backend, fake_twilio, clock):
    propose(coord_client, request_of.id)
    place_calls(db, backend, clock)
    return fake_twilio.calls[0]


@pytest.fixture
def signed(app):
    app.config["TWILIO_AUTH_TOKEN"] = TOKEN
    return app


def form_of(call, **extra):
    return {"CallSid": call["sid"], "From": call["from"], "To": call["to"], **extra}


@pytest.mark.parametrize("header", [None, "forged"])
def test_an_unsigned_or_forged_request_is_refused_on_every_voice_route(client, signed, placed, header):
    headers = {"X-Twilio-Signature": header} if header else {}
    for url in (placed["url"], placed["url"] + "/answer", placed["status_callback"]):
        response = client.post(url, data=form_of(placed, Digits="1", CallStatus="completed"), headers=headers)
        assert response.status_code == 403, url


def test_a_call_signed_by_twilio_is_answered(client, signed, placed, fake_twilio, session):
    (heard, _) = Phone(client, fake_twilio, auth_token=TOKEN).ring(placed, press=("1",))
    assert heard.find("Gather") is not None
    assert len(session.scalars(sa.select(Match)).all()) == 1


def test_without_a_token_only_this_machine_may_call_the_webhooks(client, placed):
    response = client.post(placed["url"], data=form_of(placed), environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert response.status_code == 403


def test_another_calls_sid_hears_nothing_and_changes_nothing(client, placed, session):
    before = [(r.status, r.provider_sid, r.answered_by) for r in outbox(session)]
    for url in (placed["url"], placed["url"] + "/answer"):
        response = client.post(url, data={**form_of(placed), "CallSid": "CA" + "0" * 32, "Digits": "1"})
        root = check_twiml(response.get_data(as_text=True))
        assert [child.tag for child in root] == ["Hangup"]
    client.post(
        placed["status_callback"], data={**form_of(placed), "CallSid": "CA" + "0" * 32, "CallStatus": "busy"}
    )
    assert [(r.status, r.provider_sid, r.answered_by) for r in outbox(session)] == before
    assert session.scalars(sa.select(Match)).all() == []


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/voice/outbound/999999", {"CallSid": "CA1"}),
        ("/voice/outbound/999999/answer", {"CallSid": "CA1", "Digits": "1"}),
        ("/voice/outbound/1", {}),
        ("/voice/outbound/1/answer", {"Digits": "1"}),
        ("/voice/status?outbox=999999", {"CallSid": "CA1", "CallStatus": "completed"}),
        ("/voice/status?outbox=abc", {"CallSid": "CA1", "CallStatus": "completed"}),
        ("/voice/status?outbox=1", {}),
        ("/voice/status", {"CallSid": "CA1", "CallStatus": "no-answer"}),
    ],
)
def test_unknown_ids_and_missing_fields_get_a_quiet_answer(client, placed, session, path, form):
    before = [(r.id, r.status, r.call_status) for r in outbox(session)]
    response = client.post(BASE + path, data=form)
    assert response.status_code in (200, 204)
    if response.status_code == 200:
        check_twiml(response.get_data(as_text=True))
    assert [(r.id, r.status, r.call_status) for r in outbox(session)] == before


def test_keys_that_mean_nothing_ask_again_then_say_goodbye(client, placed, phone):
    (_, again, goodbye) = phone.ring(placed, press=("#", "5"))
    assert "Je n'ai pas compris" in said(again) and again.find("Gather") is not None
    assert goodbye.find("Gather") is None and goodbye.find("Hangup") is not None


def test_a_name_full_of_markup_is_said_not_obeyed(
    coord_client, session, db, association, request_of, backend, fake_twilio, clock, phone
):
    from datetime import time

    driver = add_driver(session, association, first_name="Zoé</Say><Dial>+33899123456</Dial><Say>")
    add_offer(session, driver, depart=time(8, 0))
    session.commit()
    propose(coord_client, request_of.id)
    place_calls(db, backend, clock)
    (heard, _) = phone.ring(fake_twilio.calls[0], press=("9",))
    assert heard.find(".//Dial") is None and "<Dial>+33899123456</Dial>" in said(heard)
