"""Voice messages on the coordinators' first page: who, when, listen (proxied), "Rappeler", "Fait".

The audio comes from the fake Twilio through the real HTTP path, with the account's credentials.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from support.drivers_kit import log_in, text
from support.factories import add_coordinator, add_resident
from support.voicekit import app_with_twilio

from carpool.models import AuditEvent, VoiceMessage
from carpool.notify.recordings import delete_recording
from carpool.services.voice_messages import (
    RECORDING_RETENTION_DAYS,
    delete_forgotten,
    purge_recordings,
    recordings_to_delete,
)

UNKNOWN = "+33565001122"
AUDIO = b"ID3 fake mp3 audio"


def left_message(session, association, clock, *, resident=None, phone=UNKNOWN, n=1) -> VoiceMessage:
    message = VoiceMessage(
        association_id=association.id,
        call_sid=f"CA{association.id:016d}{n:016d}",
        recording_sid=f"RE{association.id:016d}{n:016d}",
        duration_s=37,
        resident_id=resident.id if resident else None,
        from_phone=resident.phone if resident else phone,
        created_at=clock.now() - timedelta(minutes=20),
    )
    session.add(message)
    session.commit()
    return message


def audited(session, action: str) -> int:
    return session.scalar(
        sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    )


@pytest.fixture
def app(db, clock, fake_twilio):
    return app_with_twilio(db, clock, fake_twilio)


def test_the_first_page_lists_a_voice_message_with_the_caller_s_name_and_a_player(
    coord_client, session, association, clock
):
    jeanne = add_resident(session, association, first_name="Jeanne")
    message = left_message(session, association, clock, resident=jeanne)

    page = text(coord_client.get("/coordination/"))

    assert "1 message vocal à écouter" in page
    assert "Jeanne Delpech" in page
    assert f'<audio controls preload="none" src="/coordination/messages-vocaux/{message.id}/ecoute"' in page
    assert page.index("message vocal") < page.index("Trajets, SMS et appels à surveiller")


def test_an_unknown_caller_s_number_is_shown_masked(coord_client, session, association, clock):
    left_message(session, association, clock)

    page = text(coord_client.get("/coordination/"))

    assert "numéro inconnu (+33 5" in page
    assert "65001122" not in page and "65 00 11 22" not in page


def test_listening_fetches_the_audio_from_twilio_for_the_coordinator(
    coord_client, session, association, clock, fake_twilio
):
    message = left_message(session, association, clock)
    fake_twilio.recordings[message.recording_sid] = AUDIO

    answer = coord_client.get(f"/coordination/messages-vocaux/{message.id}/ecoute")

    assert answer.status_code == 200
    assert answer.mimetype == "audio/mpeg"
    assert answer.data == AUDIO
    assert "no-store" in answer.headers["Cache-Control"]


def test_a_recording_twilio_no_longer_has_is_a_404(coord_client, session, association, clock):
    message = left_message(session, association, clock)

    assert coord_client.get(f"/coordination/messages-vocaux/{message.id}/ecoute").status_code == 404


def test_another_association_s_voice_message_is_neither_listed_nor_heard_nor_handled(
    coord_client, session, other_association, clock, fake_twilio
):
    theirs = left_message(session, other_association, clock, phone="+33139001122")
    fake_twilio.recordings[theirs.recording_sid] = AUDIO

    page = text(coord_client.get("/coordination/"))
    heard = coord_client.get(f"/coordination/messages-vocaux/{theirs.id}/ecoute")
    done = coord_client.post(f"/coordination/messages-vocaux/{theirs.id}/fait")
    callback = coord_client.post(f"/coordination/messages-vocaux/{theirs.id}/rappeler")

    assert "message vocal" not in page
    assert (heard.status_code, done.status_code, callback.status_code) == (404, 404, 404)
    session.expire_all()
    assert session.get_one(VoiceMessage, theirs.id).handled_at is None


def test_fait_takes_it_off_the_list_once(coord_client, session, association, clock, coordinator):
    message = left_message(session, association, clock)

    first = coord_client.post(f"/coordination/messages-vocaux/{message.id}/fait", follow_redirects=True)
    second = coord_client.post(f"/coordination/messages-vocaux/{message.id}/fait", follow_redirects=True)

    assert "Message vocal traité" in text(first)
    assert "déjà traité" in text(second)
    session.expire_all()
    assert session.get_one(VoiceMessage, message.id).handled_by_id == coordinator.id


def test_rappeler_shows_the_resident_s_number(coord_client, session, association, clock):
    jeanne = add_resident(session, association, first_name="Jeanne")
    message = left_message(session, association, clock, resident=jeanne)

    page = text(
        coord_client.post(f"/coordination/messages-vocaux/{message.id}/rappeler", follow_redirects=True)
    )

    assert "Rappel prévu par claire@example.org" in page
    assert f'href="tel:{jeanne.phone}"' in page


def test_rappeler_is_promised_once(coord_client, session, association, clock):
    jeanne = add_resident(session, association, first_name="Jeanne")
    message = left_message(session, association, clock, resident=jeanne)

    coord_client.post(f"/coordination/messages-vocaux/{message.id}/rappeler")
    again = coord_client.post(f"/coordination/messages-vocaux/{message.id}/rappeler", follow_redirects=True)

    assert "déjà pris en charge" in text(again)
    assert audited(session, "voice.callback_planned") == 1


def test_nobody_promises_to_call_back_for_a_voice_message_already_done(
    coord_client, session, association, clock
):
    jeanne = add_resident(session, association, first_name="Jeanne")
    message = left_message(session, association, clock, resident=jeanne)

    coord_client.post(f"/coordination/messages-vocaux/{message.id}/fait")
    page = coord_client.post(f"/coordination/messages-vocaux/{message.id}/rappeler", follow_redirects=True)

    assert "déjà pris en charge" in text(page)
    session.expire_all()
    assert session.get_one(VoiceMessage, message.id).callback_at is None


def test_an_unknown_caller_cannot_be_promised_a_callback(coord_client, session, association, clock):
    message = left_message(session, association, clock)

    page = text(
        coord_client.post(f"/coordination/messages-vocaux/{message.id}/rappeler", follow_redirects=True)
    )

    assert "Ce numéro est inconnu" in page
    session.expire_all()
    assert session.get_one(VoiceMessage, message.id).callback_at is None


def test_recordings_are_forgotten_after_the_retention_period_then_deleted_at_twilio(
    db, session, association, clock, fake_twilio
):
    old = left_message(session, association, clock, n=1)
    recent = left_message(session, association, clock, n=2)
    old.created_at = clock.now() - timedelta(days=RECORDING_RETENTION_DAYS + 1)
    session.commit()
    fake_twilio.recordings.update({old.recording_sid: AUDIO, recent.recording_sid: AUDIO})

    forgotten = purge_recordings(session, clock.now())
    again = purge_recordings(session, clock.now())
    session.commit()
    deleted = gone_at_twilio(db, session, fake_twilio)

    assert (forgotten, again, deleted) == (1, 0, (1, 0))
    session.refresh(old)
    session.refresh(recent)
    assert (old.recording_sid, old.from_phone, old.forgotten_at) == (None, "", clock.now())
    assert recent.recording_sid is not None and recent.forgotten_at is None
    assert list(fake_twilio.recordings) == [recent.recording_sid]


def test_a_recording_twilio_cannot_delete_is_tried_again(db, session, association, clock, fake_twilio):
    message = left_message(session, association, clock)
    message.forgotten_at = clock.now()
    session.commit()
    fake_twilio.go_down()

    failed = gone_at_twilio(db, session, fake_twilio)
    fake_twilio.come_back()
    fake_twilio.recordings[message.recording_sid] = AUDIO
    retried = gone_at_twilio(db, session, fake_twilio)

    assert (failed, retried) == ((0, 1), (1, 0))
    assert fake_twilio.recordings == {}


def gone_at_twilio(db, session, fake_twilio) -> tuple[int, int]:
    """What the retention job does after its commit: delete the forgotten recordings at Twilio."""
    recordings = recordings_to_delete(session)
    session.rollback()
    account = {
        "account_sid": fake_twilio.account_sid,
        "auth_token": fake_twilio.auth_token,
        "api_base_url": fake_twilio.base_url,
    }
    with db.engine.begin() as connection:
        return delete_forgotten(connection, recordings, lambda sid: delete_recording(sid, **account))


def test_a_coordinator_of_another_association_logged_in_sees_only_theirs(
    client, no_csrf, session, association, other_association, clock
):
    left_message(session, association, clock)
    theirs = add_coordinator(session, other_association, email="paul@example.org")
    log_in(client, theirs)

    page = text(client.get("/coordination/"))

    assert "message vocal" not in page


def test_an_erased_resident_s_voice_messages_can_no_longer_be_played(session, association, clock):
    from carpool.services.purge import anonymise

    jeanne = add_resident(session, association, first_name="Jeanne")
    message = left_message(session, association, clock, resident=jeanne)

    anonymise(session, jeanne)
    session.commit()
    session.refresh(message)

    assert message.forgotten_at is not None
    assert message.from_phone == f"anon:{jeanne.id}"
