"""The right of access (art. 15) covers the phone: calls each way and the voice messages left."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from support.factories import add_association, add_coordinator, add_resident

from carpool.models import AuditEvent, OutboundMessage, VoiceCall, VoiceMessage
from carpool.services import residents

PHONE = "+33536491230"  # a landline: reached by calls
LINE = "+33539980001"  # the association's line (factories' default, as stored by Twilio)


@pytest.fixture
def elsewhere(session):
    return add_association(session, "Argenteuil Solidarité", sms_number=None, phone="01 39 98 00 02")


def phone_records(session, association, person, clock, *, tag: str, handled_by: int | None = None) -> int:
    """A call on the line with a voice message (its id), and a notice sent both as an SMS and as a call."""
    at = clock.now() + timedelta(minutes=5)
    keys = {"association_id": association.id, "resident_id": person.id, "created_at": at}
    message = VoiceMessage(
        call_sid=f"CA{tag}",
        recording_sid=f"RE{tag}",
        duration_s=42,
        from_phone=person.phone,
        handled_at=at if handled_by else None,
        handled_by_id=handled_by,
        **keys,
    )
    session.add_all(
        [
            VoiceCall(call_sid=f"CA{tag}", from_phone=person.phone, to_phone=LINE, **keys),
            message,
            OutboundMessage(
                idempotency_key=f"{tag}:sms", to_phone=person.phone, body=f"SMS {tag}", channel="sms", **keys
            ),
            OutboundMessage(
                idempotency_key=f"{tag}:call",
                to_phone=person.phone,
                body=f"Appel {tag}",
                channel="voice",
                answered_by="human",
                call_status="completed",
                **keys,
            ),
        ]
    )
    session.flush()
    return message.id


def listened(session, association, message_id: int, coordinator_id: int) -> None:
    session.add(
        AuditEvent(
            actor=f"user:{coordinator_id}",
            action="voice.listened",
            association_id=association.id,
            subject_type="VoiceMessage",
            subject_id=message_id,
        )
    )
    session.flush()


@pytest.fixture
def marcel(session, association, clock):
    person = add_resident(session, association, PHONE, first_name="Marcel", channel="voice")
    person.created_at = clock.now()
    session.flush()
    return person


def test_the_export_lists_the_residents_calls_each_way(session, association, marcel, clock):
    phone_records(session, association, marcel, clock, tag="1")

    data = residents.export(session, marcel)

    assert [(c["from"], c["to"], c["channel"]) for c in data["calls_received"]] == [(PHONE, LINE, "voice")]
    assert [(c["body"], c["channel"], c["call_status"]) for c in data["calls_placed"]] == [
        ("Appel 1", "voice", "completed")
    ]


def test_a_notice_call_is_not_listed_again_among_the_sms(session, association, marcel, clock):
    phone_records(session, association, marcel, clock, tag="1")

    data = residents.export(session, marcel)

    assert [(m["body"], m["channel"]) for m in data["sms_sent"]] == [("SMS 1", "sms")]


def test_the_export_lists_the_voice_messages_with_who_listened_and_handled_them(
    session, association, marcel, clock
):
    coordinator = add_coordinator(session, association)
    message_id = phone_records(session, association, marcel, clock, tag="1", handled_by=coordinator.id)
    listened(session, association, message_id, coordinator.id)

    (message,) = residents.export(session, marcel)["voice_messages"]

    who = f"user:{coordinator.id}"
    assert (message["duration_s"], message["recording_kept"], message["handled_by"]) == (42, True, who)
    assert [entry["by"] for entry in message["listened"]] == [who]


def test_the_export_holds_no_recording_only_where_to_ask_for_it(session, association, marcel, clock):
    phone_records(session, association, marcel, clock, tag="1")

    data = residents.export(session, marcel)

    assert "RE1" not in json.dumps(data, default=str)
    assert "auprès de l'association" in data["voice_recordings"]


def test_the_audit_events_of_the_voice_message_are_in_the_export(session, association, marcel, clock):
    coordinator = add_coordinator(session, association)
    message_id = phone_records(session, association, marcel, clock, tag="1")
    listened(session, association, message_id, coordinator.id)

    data = residents.export(session, marcel)

    assert "voice.listened" in [e["action"] for e in data["audit_events"]]


def test_the_same_number_in_another_association_leaves_no_call_in_the_export(
    session, association, elsewhere, marcel, clock
):
    namesake = add_resident(session, elsewhere, PHONE, first_name="Marcel", channel="voice")
    namesake.created_at = clock.now()
    phone_records(session, elsewhere, namesake, clock, tag="2")

    data = residents.export(session, marcel)

    assert (data["calls_received"], data["calls_placed"], data["voice_messages"]) == ([], [], [])
    assert data["sms_sent"] == []


def test_the_export_format_says_it_includes_calls(session, marcel):
    assert residents.export(session, marcel)["format"] == "carpool.resident-export/2"
