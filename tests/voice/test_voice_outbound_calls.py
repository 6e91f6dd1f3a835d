"""A call proposes a trip to a landline resident: TwiML said twice, keypad 1 books, 2 declines."""

from __future__ import annotations

import re

import sqlalchemy as sa
from support.voicekit import said

from carpool.models import Match, MatchStatus
from carpool.models.messages import InboundMessage, OutboundMessage, OutboundStatus
from carpool.notify.dispatcher import dispatch_once

BASE = "http://127.0.0.1:5000"


def propose(coord_client, request_id: int) -> None:
    page = coord_client.get(f"/coordination/demandes/{request_id}").get_data(as_text=True)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
    form = {k: fields[k] for k in ("driver_id", "offer_id", "pickup_at", "dropoff_at", "detour_min")}
    response = coord_client.post(
        f"/coordination/demandes/{request_id}/proposer", data={**form, "mode": "sms"}
    )
    assert response.status_code == 302


def outbox(session) -> list[OutboundMessage]:
    """The outbox as it is now, detached: the test's session holds no lock the dispatcher waits for."""
    session.expire_all()
    rows = list(session.scalars(sa.select(OutboundMessage).order_by(OutboundMessage.id)))
    for row in rows:
        session.expunge(row)
    session.rollback()
    return rows


def place_calls(db, backend, clock) -> None:
    dispatch_once(db, backend, clock, public_base_url=BASE)


def test_a_proposal_to_a_landline_resident_is_queued_as_a_call_not_an_sms(
    coord_client, session, request_of, offer
):
    propose(coord_client, request_of.id)
    (row,) = outbox(session)
    assert (row.channel, row.to_phone) == ("voice", "+33536491201")
    assert row.idempotency_key.startswith(f"request:{request_of.id}:proposal:")


def test_the_call_is_placed_with_its_twiml_url_status_callback_and_machine_detection(
    session, fake_twilio, proposal_call
):
    (row,) = outbox(session)
    (call,) = fake_twilio.calls
    assert (call["to"], call["url"]) == ("+33536491201", f"{BASE}/voice/outbound/{row.id}")
    assert call["status_callback"] == f"{BASE}/voice/status?outbox={row.id}"
    assert call["machine_detection"] == "Enable"
    assert (row.status, row.provider_sid) == (OutboundStatus.SENT, call["sid"])
    assert fake_twilio.messages == []


def test_the_call_says_the_proposal_twice_slowly_in_french_then_offers_the_keypad_menu(phone, proposal_call):
    (first, _after) = phone.ring(proposal_call, press=("9",))
    words = said(first)
    assert words.count("Sophie vous prend à") == 2 and "Je répète" in words
    assert "OUI ou NON" not in words and "tapez 1" in words and "tapez 0" in words
    gather = first.find("Gather")
    assert gather is not None and gather.get("hints") == "oui, non, répéter, une personne"
    assert first.find("Say/prosody").get("rate") == "90%"


def test_pressing_1_books_the_trip_like_an_sms_oui(session, offer, phone, proposal_call):
    (_, answered) = phone.ring(proposal_call, press=("1",))
    match = session.scalars(sa.select(Match)).one()
    assert (match.status, match.offer_id) == (MatchStatus.CONFIRMED, offer.id)
    assert answered.find("Hangup") is not None and "Au revoir" in said(answered)


def test_saying_oui_books_the_trip_too(session, phone, proposal_call):
    phone.ring(proposal_call, speak=("Oui, d'accord.",))
    assert session.scalars(sa.select(Match)).one().status is MatchStatus.CONFIRMED


def test_pressing_2_declines_and_books_nothing(session, request_of, phone, proposal_call):
    phone.ring(proposal_call, press=("2",))
    session.expire_all()
    assert session.scalars(sa.select(Match)).all() == []
    assert request_of.unmatched_reason == "declined_by_resident"


def test_a_replayed_answer_books_once_and_is_told_so(session, fake_twilio, phone, proposal_call):
    call = fake_twilio.calls[0]
    (first, _) = phone.ring(call, press=("1",))
    form = {"CallSid": call["sid"], "From": call["from"], "To": call["to"], "Digits": "1"}
    again = phone.post(first.find("Gather").get("action"), form)
    assert "déjà enregistrée" in again.get_data(as_text=True)
    assert len(session.scalars(sa.select(Match)).all()) == 1
    answers = session.scalars(
        sa.select(InboundMessage).where(InboundMessage.message_sid == f"call:{call['sid']}")
    )
    assert len(answers.all()) == 1


def test_pressing_0_puts_the_resident_through_to_the_association(phone, proposal_call):
    (_, through) = phone.ring(proposal_call, press=("0",))
    assert through.find("Dial").text == "+33539980001"


def test_an_answering_machine_hears_a_call_back_message_and_nothing_is_booked(session, phone, proposal_call):
    (machine,) = phone.ring(proposal_call, answered_by="machine_start", press=("1",))
    assert machine.find("Gather") is None and "rappeler au 05 39 98 00 01" in said(machine)
    assert session.scalars(sa.select(Match)).all() == []
    assert outbox(session)[0].answered_by == "machine_start"


def test_after_the_trip_pressing_2_records_a_bad_trip_for_a_coordinator(
    db, session, association, landline, backend, fake_twilio, clock, phone
):
    from datetime import UTC, datetime

    from support.factories import add_trip
    from support.jobkit import tick

    from carpool.clock import PARIS

    trip = add_trip(
        session,
        association,
        pickup_at=datetime(2026, 11, 30, 10, tzinfo=PARIS),
        booked_at=datetime(2026, 11, 20, 9, tzinfo=PARIS),
        person=landline,
    )
    session.commit()
    clock.current = datetime(2026, 11, 30, 12, 40, tzinfo=PARIS).astimezone(UTC)
    tick(db, clock)  # the trip is completed, the question queued
    place_calls(db, backend, clock)
    (question, answered) = phone.ring(fake_twilio.calls[-1], press=("2",))
    assert "s'est bien passé" in said(question) and "Répondez" not in said(question)
    assert "tapez 2" in said(question) and answered.find("Hangup") is not None
    session.expire_all()
    assert session.get_one(Match, trip.id).feedback_ok is False
    answer = session.scalars(sa.select(InboundMessage).where(InboundMessage.message_sid.like("call:%"))).one()
    assert answer.needs_attention
