"""A voice message and a text that need a person live the same life (services/handling.py):
a call back is promised once, and nobody promises one for what is already done."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from support.factories import add_coordinator, add_resident

from carpool.models import AuditEvent, InboundMessage, VoiceMessage
from carpool.services import desk, voice_messages


def voice_message(session, association, resident, clock) -> VoiceMessage:
    message = VoiceMessage(
        association_id=association.id,
        call_sid="CA" + "1" * 32,
        recording_sid="RE" + "1" * 32,
        duration_s=20,
        resident_id=resident.id,
        from_phone=resident.phone,
        created_at=clock.now() - timedelta(minutes=5),
    )
    session.add(message)
    session.commit()
    return message


def text(session, association, resident, clock) -> InboundMessage:
    message = InboundMessage(
        message_sid="SM" + "1" * 32,
        association_id=association.id,
        resident_id=resident.id,
        from_phone=resident.phone,
        body="rappelez-moi",
        needs_attention=True,
        created_at=clock.now() - timedelta(minutes=5),
    )
    session.add(message)
    session.commit()
    return message


def audited(session, action: str) -> int:
    return session.scalar(
        sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    )


def test_a_voice_message_call_back_is_promised_once_and_audited_once(session, association, clock):
    message = voice_message(session, association, add_resident(session, association), clock)
    claire = add_coordinator(session, association)

    planned = [
        voice_messages.plan_callback(session, message, user_id=claire.id, clock=clock) for _ in range(2)
    ]
    session.commit()

    assert planned == [True, False]
    assert audited(session, "voice.callback_planned") == 1


def test_nobody_promises_to_call_back_for_a_voice_message_already_done(session, association, clock):
    message = voice_message(session, association, add_resident(session, association), clock)
    claire = add_coordinator(session, association)
    voice_messages.mark_handled(session, message, user_id=claire.id, clock=clock)

    planned = voice_messages.plan_callback(session, message, user_id=claire.id, clock=clock)
    session.commit()

    assert (planned, session.get_one(VoiceMessage, message.id).callback_at) == (False, None)


def test_nobody_promises_to_call_back_for_a_text_already_done(session, association, clock):
    message = text(session, association, add_resident(session, association), clock)
    claire = add_coordinator(session, association)
    desk.mark_handled(session, message, user_id=claire.id, clock=clock)

    planned = desk.plan_callback(session, message, user_id=claire.id, clock=clock)
    session.commit()

    assert (planned, session.get_one(InboundMessage, message.id).callback_at) == (False, None)
