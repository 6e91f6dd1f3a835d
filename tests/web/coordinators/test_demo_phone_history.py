"""The demo shows the phone features at work, in both associations: calls on the line, a voice
message waiting today (heard as a French sentence: the demo has no audio), one called back and
handled, notice calls picked up, one by a machine, and one unanswered after its retries."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from support.drivers_kit import log_in, text
from support.factories import TEST_BOX

from carpool.clock import PARIS
from carpool.models import (
    Association,
    AuditEvent,
    OutboundMessage,
    OutboundStatus,
    UserAccount,
    VoiceCall,
    VoiceMessage,
)
from carpool.notify.recordings import DEMO_NO_SOUND, delete_recording
from carpool.services.demo import DEMO_ASSOCIATION, VAL_DOISE, seed_demo
from carpool.services.voice_messages import RECORDING_RETENTION_DAYS

COORDINATORS = {DEMO_ASSOCIATION: "coord@demo.test", VAL_DOISE.association: "coord95@demo.test"}


@pytest.fixture
def demo(db, clock):
    with db.session() as session:
        seed_demo(session, TEST_BOX, clock=clock)
        session.commit()
    return db


def coordinator_of(db, name: str) -> UserAccount:
    with db.session() as session:
        user = session.scalars(sa.select(UserAccount).where(UserAccount.email == COORDINATORS[name])).one()
        session.expunge(user)
        return user


def association_id(session, name: str) -> int:
    return session.scalars(sa.select(Association.id).where(Association.name == name)).one()


@pytest.mark.parametrize("name", COORDINATORS)
def test_the_first_page_shows_a_voice_message_waiting_and_an_unanswered_call(demo, client, name):
    log_in(client, coordinator_of(demo, name))

    page = text(client.get("/coordination/"))

    assert "1 message vocal à écouter" in page
    assert "Message de démonstration : l'enregistrement n'a pas de son." in page
    assert "Appel sans réponse" in page
    assert "appel sans réponse après 3 essais (pas de réponse) : à rappeler" in page


@pytest.mark.parametrize("name", COORDINATORS)
def test_listening_to_the_demo_voice_message_says_there_is_no_sound(demo, client, name):
    log_in(client, coordinator_of(demo, name))
    with demo.session() as session:
        waiting = session.scalars(
            sa.select(VoiceMessage.id).where(
                VoiceMessage.association_id == association_id(session, name),
                VoiceMessage.handled_at.is_(None),
            )
        ).one()

    answer = client.get(f"/coordination/messages-vocaux/{waiting}/ecoute")

    assert answer.status_code == 200
    assert answer.get_data(as_text=True).strip() == DEMO_NO_SOUND
    assert "Traceback" not in answer.get_data(as_text=True)


def test_the_waiting_message_was_left_today_and_the_other_was_called_back_and_handled(demo, clock):
    with demo.session() as session:
        messages = session.scalars(sa.select(VoiceMessage).order_by(VoiceMessage.id)).all()
        coordinators = {u.id for u in session.scalars(sa.select(UserAccount))}
        handled = [m for m in messages if m.handled_at is not None]
        waiting = [m for m in messages if m.handled_at is None]
        audited = set(
            session.scalars(
                sa.select(AuditEvent.action).where(
                    AuditEvent.subject_type == "VoiceMessage",
                    AuditEvent.subject_id.in_([m.id for m in handled]),
                )
            )
        )

    today = clock.now().astimezone(PARIS).date()
    assert len(waiting) == len(handled) == 2
    assert all(m.created_at.astimezone(PARIS).date() == today and m.resident_id for m in waiting)
    assert all(m.callback_by_id in coordinators and m.handled_by_id == m.callback_by_id for m in handled)
    assert {"voice.message_left", "voice.listened", "voice.callback_planned", "voice.handled"} <= audited


def test_the_line_took_calls_from_residents_and_a_stranger_within_the_retention(demo, clock):
    with demo.session() as session:
        calls = session.scalars(sa.select(VoiceCall)).all()

    oldest = min(call.created_at for call in calls)
    assert len(calls) == 10
    assert sum(call.resident_id is None and call.driver_id is None for call in calls) == 2
    assert (clock.now() - oldest).days < RECORDING_RETENTION_DAYS
    assert max(call.created_at for call in calls) <= clock.now()


def test_notice_calls_were_picked_up_by_people_a_machine_and_nobody(demo):
    with demo.session() as session:
        rows = session.scalars(sa.select(OutboundMessage).where(OutboundMessage.channel == "voice")).all()

    outcomes = sorted((row.answered_by or "", row.status.value) for row in rows)
    assert outcomes.count(("human", OutboundStatus.DELIVERED.value)) == 4
    assert outcomes.count(("machine_start", OutboundStatus.SENT.value)) == 2
    assert outcomes.count(("", OutboundStatus.FAILED.value)) == 2


def test_the_demo_leaves_no_call_for_the_dispatcher_to_place(demo):
    with demo.session() as session:
        waiting = session.scalars(
            sa.select(OutboundMessage.idempotency_key).where(
                OutboundMessage.status.in_((OutboundStatus.PENDING, OutboundStatus.SENDING))
            )
        ).all()

    assert waiting == []


def test_seeding_again_adds_no_call(demo, clock):
    with demo.session() as session:
        report = seed_demo(session, TEST_BOX, clock=clock)
        calls = session.scalar(sa.select(sa.func.count()).select_from(VoiceCall))

    assert report.already_seeded
    assert calls == 10


def test_a_real_recording_without_twilio_credentials_is_a_french_sentence_not_an_error(demo, client):
    user = coordinator_of(demo, VAL_DOISE.association)
    log_in(client, user)
    with demo.session() as session:
        message = session.scalars(
            sa.select(VoiceMessage).where(
                VoiceMessage.association_id == user.association_id, VoiceMessage.handled_at.is_(None)
            )
        ).one()
        message.recording_sid = "RE" + "0123456789abcdef" * 2  # as Twilio names them
        session.commit()
        message_id = message.id

    answer = client.get(f"/coordination/messages-vocaux/{message_id}/ecoute")

    assert answer.status_code == 404
    assert answer.get_data(as_text=True).startswith("Enregistrement indisponible pour le moment")


def test_the_caller_s_history_shows_the_calls_both_ways_and_the_voice_message(demo, client):
    log_in(client, coordinator_of(demo, DEMO_ASSOCIATION))
    with demo.session() as session:
        caller = session.scalars(
            sa.select(VoiceMessage.resident_id)
            .where(VoiceMessage.handled_at.is_(None))
            .order_by(VoiceMessage.id)
            .limit(1)
        ).one()

    page = text(client.get(f"/coordination/habitants/{caller}/donnees"))

    assert "Appels reçus sur la ligne de l'association (1)" in page
    assert "Appels de rappel ou d'information (3)" in page
    assert "non abouti" in page or "pas de réponse" in page


def test_a_forgotten_demo_recording_counts_as_deleted_at_twilio(demo):
    with demo.session() as session:
        sids = session.scalars(sa.select(VoiceMessage.recording_sid)).all()

    assert sids and all(
        delete_recording(sid, account_sid="AC" + "0" * 32, auth_token="x", api_base_url="http://127.0.0.1:9")
        for sid in sids
    )
