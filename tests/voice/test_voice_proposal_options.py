"""A proposal of two options on the phone: read one at a time, 1 takes the one read, 2 the next.

Marcel (a landline) is choosing between Sophie's and Paul's trips to Cahors on Tuesday; he
hears them in a call placed to him, or when he calls the association's line (menu 2).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import time
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from support.factories import add_driver, add_offer, add_request
from support.voicekit import Phone, check_twiml, ring, said
from test_voice_outbound_calls import place_calls
from twilio.request_validator import RequestValidator

from carpool.models import Conversation, InboundMessage, Match, Request, Resident
from carpool.notify.compose import render
from carpool.notify.outbox import enqueue_notice
from carpool.services import matching, sms_inbound


def present(session, request, options, clock) -> None:
    """Put Marcel's conversation in CHOOSING with ``options``, as a texted request would."""
    resident = session.get_one(Resident, request.resident_id)
    conversation = sms_inbound.conversation_of(session, resident, clock.now())
    sms_inbound.present_options(session, conversation, request, options)


@pytest.fixture
def two_options(session, association, landline, clock):
    """Marcel's request for Cahors by 10:00 on Tuesday; Paul (7:30) then Sophie (8:00) (committed)."""
    request = add_request(session, association, resident=landline, appointment=time(10, 0))
    add_offer(session, add_driver(session, association), depart=time(8, 0))
    add_offer(session, add_driver(session, association, first_name="Paul"), depart=time(7, 30))
    options = matching.round_trip_options(session, request, clock, limit=3)
    assert len(options) == 2
    present(session, request, options, clock)
    session.commit()
    return request


@pytest.fixture
def options_call(session, db, association, landline, two_options, backend, fake_twilio, clock):
    """The proposal placed as a call to Marcel: the fake's call record."""
    conversation = session.scalars(sa.select(Conversation)).one()
    trips = [sms_inbound.trip_of(option) for option in conversation.options]
    template, context = sms_inbound.present_options(session, conversation, two_options, trips)
    key, body = f"request:{two_options.id}:proposal:1", render(template, **context)  # as a proposal's
    enqueue_notice(session, key, landline, body, association_id=association.id, trip_at=two_options.earliest)
    session.commit()
    place_calls(db, backend, clock)
    return fake_twilio.calls[0]


def offered(session) -> list[int]:
    """The offers of the options, in the order they are proposed (the test's session left idle)."""
    session.expire_all()
    offers = [option["offer_id"] for option in session.scalars(sa.select(Conversation)).one().options]
    session.rollback()  # SQLite: no read transaction left open while the app writes
    return offers


def booked(session) -> list[int]:
    """The offers of the trips booked (the test's session left idle)."""
    session.expire_all()
    offers = [match.offer_id for match in session.scalars(sa.select(Match).order_by(Match.id))]
    session.rollback()
    return offers


def action_of(document) -> dict[str, list[str]]:
    return parse_qs(urlsplit(document.find("Gather").get("action")).query)


# --- the call placed to Marcel ---------------------------------------------------------------------


def test_the_call_reads_the_first_option_alone_then_its_keys(phone, options_call):
    (first, _) = phone.ring(options_call, press=("9",))
    words = said(first)
    assert "Il y a deux possibilités" in words
    assert "Première possibilité : Paul vous prend à 8 heures 2." in words
    assert "Sophie" not in words and "Deuxième" not in words
    assert "Pour entendre la possibilité suivante, tapez 2" in words and "tapez 0" in words
    assert action_of(first)["option"] == ["1"]


def test_2_then_1_books_the_second_option_and_only_it(session, phone, options_call):
    wanted = offered(session)[1]
    (_, second, done) = phone.ring(options_call, press=("2", "1"))
    assert "Deuxième possibilité : Sophie vous prend" in said(second) and "Paul" not in said(second)
    assert "Si aucune ne vous convient, tapez 2" in said(second)
    assert booked(session) == [wanted]
    assert done.find("Hangup") is not None
    answer = session.scalars(sa.select(InboundMessage)).one()
    assert answer.body == "2"  # what "2" by SMS books


def test_2_then_2_declines_the_whole_proposal_like_non(session, two_options, phone, options_call):
    (_, _, done) = phone.ring(options_call, press=("2", "2"))
    assert booked(session) == []
    assert session.get_one(Request, two_options.id).unmatched_reason == "declined_by_resident"
    assert done.find("Gather") is None


def test_9_repeats_the_option_being_read(phone, options_call):
    (_, second, again) = phone.ring(options_call, press=("2", "9"))
    assert "Je répète. Deuxième possibilité : Sophie" in said(again)
    assert action_of(again)["option"] == action_of(second)["option"] == ["2"]


def test_saying_non_then_oui_books_the_second_option(session, phone, options_call):
    wanted = offered(session)[1]
    phone.ring(options_call, speak=("non", "oui"))
    assert booked(session) == [wanted]


def test_a_replayed_or_late_key_press_changes_nothing(session, phone, options_call):
    wanted = offered(session)[1]
    (first, second, _) = phone.ring(options_call, press=("2", "1"))
    form = {"CallSid": options_call["sid"], "From": options_call["from"], "To": options_call["to"]}
    replayed = phone.post(second.find("Gather").get("action"), form | {"Digits": "1"})
    late = phone.post(first.find("Gather").get("action"), form | {"Digits": "1"})
    late_no = phone.post(first.find("Gather").get("action"), form | {"Digits": "2"})
    late_repeat = phone.post(first.find("Gather").get("action"), form | {"Digits": "9"})
    for answer in (replayed, late, late_no, late_repeat):
        assert "déjà enregistrée" in answer.get_data(as_text=True)
    assert booked(session) == [wanted]


def test_a_key_for_a_proposal_that_changed_books_nothing_and_says_so(
    session, two_options, phone, options_call, clock
):
    (first,) = phone.ring(options_call)
    conversation = session.scalars(sa.select(Conversation)).one()
    paul_only = [sms_inbound.trip_of(conversation.options[1])]
    present(session, two_options, paul_only, clock)  # a new proposal replaced the one read
    session.commit()
    form = {"CallSid": options_call["sid"], "From": options_call["from"], "To": options_call["to"]}
    answer = phone.post(first.find("Gather").get("action"), form | {"Digits": "1"})
    assert "n'est plus disponible" in answer.get_data(as_text=True)
    assert booked(session) == []


# --- Marcel calls the association's line: menu 2 ---------------------------------------------------


def test_on_the_line_2_then_1_books_the_second_option_and_only_it(client, session, two_options, landline):
    caller = landline.phone  # read before the session is left idle
    wanted = offered(session)[1]
    call = ring(client, caller)
    call.press("2")
    check_twiml(ET.tostring(call.twiml, encoding="unicode"))
    assert "Première possibilité : Paul" in call.spoken() and "Sophie" not in call.spoken()
    call.press("2")
    assert "Deuxième possibilité : Sophie" in call.spoken()
    call.press("1")
    assert call.twiml.find("Hangup") is not None
    assert booked(session) == [wanted]


def test_on_the_line_2_then_2_declines_the_whole_proposal(client, session, two_options, landline):
    call = ring(client, landline.phone)
    for key in ("2", "2", "2"):
        call.press(key)
    assert "vous refusez cette proposition" in call.spoken()
    assert booked(session) == []
    assert session.get_one(Request, two_options.id).unmatched_reason == "declined_by_resident"


def test_on_the_line_9_repeats_the_option_being_read(client, two_options, landline):
    call = ring(client, landline.phone)
    call.press("2")
    call.press("2")
    call.press("9")
    assert "Je répète. Deuxième possibilité : Sophie" in call.spoken()
    assert action_of(call.twiml)["option"] == ["2"]


def test_on_the_line_a_replayed_key_press_changes_nothing(client, session, two_options, landline):
    caller = landline.phone  # read before the session is left idle
    wanted = offered(session)[1]
    call = ring(client, caller)
    call.press("2")
    first = call.gather().get("action")
    call.press("2")
    second = call.gather().get("action")
    call.press("1")
    for action, key in ((second, "1"), (first, "2"), (first, "9")):
        call.post(action, Digits=key)
        assert "C'est confirmé" in call.spoken() and call.twiml.find("Hangup") is not None
    assert booked(session) == [wanted]


def test_on_the_line_a_stale_key_books_nothing_and_says_so(client, session, two_options, landline, clock):
    call = ring(client, landline.phone)
    call.press("2")
    conversation = session.scalars(sa.select(Conversation)).one()
    present(session, two_options, [sms_inbound.trip_of(conversation.options[1])], clock)
    session.commit()
    call.press("1")
    assert "n'est plus disponible" in call.spoken() and call.gather() is not None
    assert booked(session) == []


@pytest.mark.parametrize("number", ["²", "0", "99", "-1", "x"])
def test_an_option_number_out_of_shape_books_nothing(session, phone, options_call, number):
    (first,) = phone.ring(options_call)
    action = first.find("Gather").get("action").replace("option=1", f"option={number}")
    form = {"CallSid": options_call["sid"], "From": options_call["from"], "To": options_call["to"]}
    answer = phone.post(action, form | {"Digits": "1"})
    assert answer.status_code == 200
    assert booked(session) == []


def test_on_the_line_3_while_an_option_is_read_puts_the_caller_through_to_a_person(
    client, two_options, landline
):
    call = ring(client, landline.phone)
    call.press("2")
    call.press("3")
    assert call.twiml.find("Record") is not None  # no on-duty phone: a voice message


def test_a_proposal_answered_by_sms_before_the_call_rings_is_not_read_again(
    session, landline, phone, options_call, clock
):
    """Marcel said NON by SMS meanwhile: the call says so, reads no option and asks nothing."""
    sms_inbound.handle_inbound(
        session, message_sid="SM-before-call", from_phone=landline.phone, to_phone="", body="NON", clock=clock
    )
    session.commit()
    (only,) = phone.ring(options_call, press=("1",))
    words = said(only)
    assert "elle n'attend plus de réponse" in words
    assert "Paul" not in words and "Sophie" not in words
    assert only.find("Gather") is None and only.find("Hangup") is not None
    assert booked(session) == []


def test_signed_by_twilio_the_option_in_each_url_is_signed_too(
    app, client, session, fake_twilio, options_call
):
    """The option travels in the Gather's URL: Twilio signs it, so it can't be changed on the way."""
    token = "0123456789abcdef0123456789abcdef"
    app.config["TWILIO_AUTH_TOKEN"] = token
    wanted = offered(session)[1]
    phone = Phone(client, fake_twilio, auth_token=token)
    (first, _, _) = phone.ring(options_call, press=("2", "1"))
    assert booked(session) == [wanted]
    # The first option's URL signed, then sent with option=2: refused, nothing more booked.
    action = first.find("Gather").get("action")
    form = {
        "CallSid": options_call["sid"],
        "From": options_call["from"],
        "To": options_call["to"],
        "Digits": "1",
    }
    signature = RequestValidator(token).compute_signature(action, form)
    parts = urlsplit(action.replace("option=1", "option=2"))
    answer = client.post(
        f"{parts.path}?{parts.query}",
        data=form,
        headers={"X-Twilio-Signature": signature},
        base_url=f"{parts.scheme}://{parts.netloc}",
    )
    assert answer.status_code == 403
    assert booked(session) == [wanted]
