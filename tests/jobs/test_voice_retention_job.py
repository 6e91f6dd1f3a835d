"""The daily retention job forgets voice messages after 90 days and deletes them at Twilio."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import sqlalchemy as sa

from carpool.config import Settings
from carpool.jobs import run_job
from carpool.models import VoiceMessage
from carpool.services.voice_messages import RECORDING_RETENTION_DAYS


def test_an_old_voice_message_is_forgotten_and_its_recording_deleted_at_twilio(
    db, session, association, clock, fake_twilio
):
    sid = "RE" + "4" * 32
    session.add(
        VoiceMessage(
            association_id=association.id,
            call_sid="CA" + "4" * 32,
            recording_sid=sid,
            duration_s=20,
            from_phone="+33565001122",
            created_at=clock.now() - timedelta(days=RECORDING_RETENTION_DAYS + 1),
        )
    )
    session.commit()
    fake_twilio.recordings[sid] = b"ID3"
    settings = replace(
        Settings(),
        twilio_account_sid=fake_twilio.account_sid,
        twilio_auth_token=fake_twilio.auth_token,
        twilio_api_base_url=fake_twilio.base_url,
    )

    rehearsal = run_job(db, "retention", clock, settings=settings, dry_run=True)
    assert fake_twilio.recordings == {sid: b"ID3"}  # a dry run deletes nothing, not even at Twilio
    outcome = run_job(db, "retention", clock, settings=settings)

    assert "enregistrements à supprimer chez Twilio : 1" in rehearsal.result
    assert "messages vocaux oubliés : 1" in outcome.result
    assert fake_twilio.recordings == {}
    with db.session() as fresh:
        message = fresh.scalars(sa.select(VoiceMessage)).one()
        assert (message.recording_sid, message.from_phone) == (None, "")
