"""Texts that need a person: listed for the coordinators, newest first, until one marks them done."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from support.factories import SERVICE_NUMBER, add_association, add_resident, new_message_sid

from carpool.errors import InvalidInput
from carpool.models import AuditEvent, InboundMessage, Resident, Role, UserAccount
from carpool.services import board, desk
from carpool.services.sms_inbound import handle_inbound

UNKNOWN = "+33639985555"


@pytest.fixture
def jeanne(session, association) -> Resident:
    resident = add_resident(session, association, phone="+33639981234")
    session.commit()
    return resident


@pytest.fixture
def claire(session, association) -> UserAccount:
    user = UserAccount(
        email="claire@example.org", password_hash="x", role=Role.COORDINATOR, association_id=association.id
    )
    session.add(user)
    session.commit()
    return user


def texted(session, clock, sender: str, body: str) -> InboundMessage:
    """One SMS through the real inbound path, a minute after the previous one."""
    clock.advance(minutes=1)
    sid = new_message_sid()
    handle_inbound(
        session, message_sid=sid, from_phone=sender, to_phone=SERVICE_NUMBER, body=body, clock=clock
    )
    session.commit()
    return session.scalars(sa.select(InboundMessage).where(InboundMessage.message_sid == sid)).one()


def audited(session, action: str) -> int:
    return session.scalar(
        sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    )


def test_each_kind_of_text_that_needs_a_person_is_listed_with_why(session, clock, association, jeanne):
    texted(session, clock, UNKNOWN, "bonjour je voudrais un taxi")
    texted(session, clock, jeanne.phone, "AIDE")
    texted(session, clock, jeanne.phone, "blablabla")
    texted(session, clock, jeanne.phone, "toujours rien")  # the second text not understood escalates

    shown = desk.messages_to_handle(session, association.id).shown

    assert [(m.who, m.reason, m.text) for m in shown] == [
        ("Jeanne Delpech", "message non compris", "toujours rien"),
        ("Jeanne Delpech", "demande à être rappelé(e)", "AIDE"),
        ("numéro inconnu (+33 6 •• •• •• 55)", "numéro inconnu", "bonjour je voudrais un taxi"),
    ]


def test_an_unknown_senders_number_is_never_given_in_full(session, clock, association):
    texted(session, clock, UNKNOWN, "rappelez moi")

    (message,) = desk.messages_to_handle(session, association.id).shown

    assert message.phone is None and message.resident_id is None
    assert "5555" not in message.who and "39 98" not in message.who


def test_texts_the_service_understood_are_not_listed(session, clock, association, jeanne):
    texted(session, clock, jeanne.phone, "STOP")
    texted(session, clock, jeanne.phone, "START")

    assert desk.messages_to_handle(session, association.id).total == 0


def test_a_handled_text_leaves_the_list_and_a_second_click_changes_nothing(
    session, clock, association, claire
):
    message = texted(session, clock, UNKNOWN, "allo")

    first = desk.mark_handled(session, message, user_id=claire.id, clock=clock)
    session.commit()
    handled_at = message.handled_at
    clock.advance(minutes=5)
    second = desk.mark_handled(session, message, user_id=claire.id, clock=clock)
    session.commit()

    assert (first, second) == (True, False)
    assert message.handled_at == handled_at and message.handled_by_id == claire.id
    assert desk.messages_to_handle(session, association.id).total == 0
    assert audited(session, "sms.handled") == 1


def test_a_call_back_shows_the_residents_phone_and_who_calls_once(
    session, clock, association, jeanne, claire
):
    message = texted(session, clock, jeanne.phone, "AIDE")
    (before,) = desk.messages_to_handle(session, association.id).shown

    planned = [desk.plan_callback(session, message, user_id=claire.id, clock=clock) for _ in range(2)]
    session.commit()

    (after,) = desk.messages_to_handle(session, association.id).shown
    assert planned == [True, False]
    assert before.phone is None
    assert (after.phone, after.callback_by) == (jeanne.phone, "claire@example.org")
    assert audited(session, "sms.callback_planned") == 1


def test_nobody_promises_to_call_back_for_a_text_already_done(session, clock, association, jeanne, claire):
    message = texted(session, clock, jeanne.phone, "AIDE")
    desk.mark_handled(session, message, user_id=claire.id, clock=clock)

    planned = desk.plan_callback(session, message, user_id=claire.id, clock=clock)
    session.commit()

    assert (planned, session.get_one(InboundMessage, message.id).callback_at) == (False, None)


def test_nobody_can_promise_to_call_an_unknown_number(session, clock, association, claire):
    message = texted(session, clock, UNKNOWN, "allo")

    with pytest.raises(InvalidInput):
        desk.plan_callback(session, message, user_id=claire.id, clock=clock)
    session.rollback()

    assert session.get_one(InboundMessage, message.id).callback_at is None


def test_another_associations_texts_are_not_listed(session, clock, association, jeanne):
    other = add_association(session, "Argenteuil Solidarité", sms_number="01 39 98 00 02", phone=None)
    session.commit()
    texted(session, clock, jeanne.phone, "AIDE")

    assert desk.messages_to_handle(session, other.id).total == 0


def test_the_week_board_counts_every_text_and_shows_the_newest(session, clock, association):
    for n in range(4):
        texted(session, clock, f"+3363998555{n}", "allo")

    week = board.week(session, association.id, clock.now())
    waiting = desk.messages_to_handle(session, association.id, limit=2)

    assert week.messages_to_handle == 4 and len(week.to_handle) == 4
    assert waiting.total == 4
    assert [m.who for m in waiting.shown] == [
        "numéro inconnu (+33 6 •• •• •• 53)",
        "numéro inconnu (+33 6 •• •• •• 52)",
    ]
