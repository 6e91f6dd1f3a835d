"""The resident's data page and download show their calls and voice messages, never the recording."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from support.drivers_kit import text
from support.factories import add_resident

from carpool.models import OutboundMessage, OutboundStatus, VoiceCall, VoiceMessage

PHONE = "+33536491231"
LINE = "+33539980001"


def url(resident, tail: str) -> str:
    return f"/coordination/habitants/{resident.id}{tail}"


@pytest.fixture
def marcel(session, association, coordinator, clock):
    """Marcel called the line, left a 42 s message (handled), and was called about his trip."""
    person = add_resident(session, association, PHONE, first_name="Marcel", channel="voice")
    person.created_at = clock.now()
    at = clock.now() + timedelta(minutes=5)
    keys = {"association_id": association.id, "resident_id": person.id, "created_at": at}
    session.add_all(
        [
            VoiceCall(call_sid="CAweb", from_phone=PHONE, to_phone=LINE, **keys),
            VoiceMessage(
                call_sid="CAweb",
                recording_sid="REweb",
                duration_s=42,
                from_phone=PHONE,
                handled_at=at,
                handled_by_id=coordinator.id,
                **keys,
            ),
            OutboundMessage(
                idempotency_key="web:call",
                to_phone=PHONE,
                body="Sophie vous prendra mardi a 8h",
                channel="voice",
                status=OutboundStatus.FAILED,
                call_status="busy",
                **keys,
            ),
        ]
    )
    session.commit()
    return person


def test_the_readable_page_shows_the_calls_and_the_voice_message(coord_client, marcel):
    page = text(coord_client.get(url(marcel, "/donnees")))

    assert "Sophie vous prendra mardi a 8h" in page and "occupé" in page
    assert "Appels reçus sur la ligne de l'association (1)" in page and "42 s" in page
    assert "la personne peut les obtenir auprès de l'association" in page


def test_the_download_has_the_voice_message_but_not_its_recording(coord_client, marcel):
    data = json.loads(coord_client.get(url(marcel, "/export.json")).get_data(as_text=True))

    assert [m["duration_s"] for m in data["voice_messages"]] == [42]
    assert "REweb" not in json.dumps(data) and "Recordings" not in json.dumps(data)
