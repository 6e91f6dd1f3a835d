"""After a call: delivered, or called again twice 20 minutes apart, then shown to coordinators."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from support.drivers_kit import log_in, text
from test_voice_outbound_calls import BASE, outbox, place_calls, propose

from carpool.models.messages import OutboundStatus
from carpool.notify.calls import may_ring, next_ring

PARIS_NOON = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


def test_an_answered_call_is_delivered(session, phone, proposal_call):
    phone.ring(proposal_call, press=("2",))
    (row,) = outbox(session)
    assert (row.status, row.call_status, row.answered_by) == (OutboundStatus.DELIVERED, "completed", "human")


def test_no_answer_calls_again_twenty_minutes_later(
    session, db, backend, fake_twilio, clock, phone, proposal_call
):
    phone.ring(proposal_call, status="no-answer")
    first, again = outbox(session)
    assert (first.call_status, again.channel, again.status) == ("no-answer", "voice", OutboundStatus.PENDING)
    assert again.idempotency_key == f"{first.idempotency_key}:again:1"
    assert again.next_attempt_at == clock.now() + timedelta(minutes=20)
    place_calls(db, backend, clock)
    assert len(fake_twilio.calls) == 1  # not before the 20 minutes
    clock.advance(minutes=20)
    place_calls(db, backend, clock)
    assert len(fake_twilio.calls) == 2


def test_three_calls_unanswered_put_the_resident_on_the_coordinators_first_page(
    coord_client, coordinator, session, db, request_of, offer, backend, fake_twilio, clock, phone
):
    propose(coord_client, request_of.id)
    for n, status in enumerate(("no-answer", "busy", "no-answer")):
        place_calls(db, backend, clock)
        phone.ring(fake_twilio.calls[n], status=status)
        clock.advance(minutes=20)
    place_calls(db, backend, clock)
    rows = outbox(session)
    assert (len(fake_twilio.calls), len(rows)) == (3, 3)
    assert rows[-1].status is OutboundStatus.FAILED and rows[-1].error_code == "no-answer"
    log_in(coord_client, coordinator)  # an hour has gone by: signed out meanwhile
    session.rollback()
    page = text(coord_client.get("/coordination/"))
    assert "Appel sans réponse" in page and "à Marcel Delpech" in page
    assert "après 3 essais (pas de réponse) : à rappeler" in page


def test_an_answering_machine_counts_as_not_reached(session, phone, proposal_call):
    phone.ring(proposal_call, answered_by="machine_start")
    first, again = outbox(session)
    assert (first.error_code, again.status) == ("machine", OutboundStatus.PENDING)


def test_a_replayed_status_changes_nothing(session, fake_twilio, phone, proposal_call):
    call = fake_twilio.calls[0]
    phone.ring(call, status="no-answer")
    before = [(r.id, r.status, r.call_status) for r in outbox(session)]
    phone.post(call["status_callback"], {"CallSid": call["sid"], "CallStatus": "no-answer"})
    phone.post(call["status_callback"], {"CallSid": call["sid"], "CallStatus": "completed"})
    assert [(r.id, r.status, r.call_status) for r in outbox(session)] == before


def test_calls_ring_from_nine_to_seven_paris_time_unless_the_trip_is_within_a_day():
    evening = datetime(2026, 11, 23, 18, 30, tzinfo=UTC)  # 19:30 in Paris
    assert may_ring(PARIS_NOON, None) and not may_ring(evening, None)
    assert next_ring(evening, None) == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert may_ring(evening, evening + timedelta(hours=13))
    # A trip in 30 h: the call may ring once the trip is 24 h away, before 09:00.
    assert next_ring(evening, evening + timedelta(hours=30)) == evening + timedelta(hours=6)


def test_a_call_due_in_the_evening_waits_for_the_morning(
    db, session, association, backend, fake_twilio, clock
):
    from carpool.notify import outbox as queue

    clock.advance(hours=9)  # 19:00 in Paris
    queue.enqueue(session, "late", "+33536491202", "Rappel", association_id=association.id, channel="voice")
    session.commit()
    report = place_calls_report(db, backend, clock)
    assert (report.postponed, fake_twilio.calls) == (1, [])
    (row,) = outbox(session)
    assert (row.status, row.attempts) == (OutboundStatus.PENDING, 0)
    assert row.next_attempt_at == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def test_the_hourly_call_budget_of_one_number_postpones_the_next_call(
    db, session, association, backend, fake_twilio, clock
):
    from carpool.notify import outbox as queue
    from carpool.notify.calls import CallLimits
    from carpool.notify.dispatcher import dispatch_once

    for n in range(3):
        queue.enqueue(
            session, f"k{n}", "+33536491203", f"Rappel {n}", association_id=association.id, channel="voice"
        )
    session.commit()
    limits = CallLimits(per_number_hour=2, global_hour=60)
    for _ in range(3):
        dispatch_once(db, backend, clock, public_base_url=BASE, call_limits=limits)
        session.execute(sa.text("UPDATE outbound_message SET status = 'delivered' WHERE status = 'sent'"))
        session.commit()
    assert len(fake_twilio.calls) == 2
    held = outbox(session)[-1]
    assert (held.status, held.next_attempt_at) == (
        OutboundStatus.PENDING,
        datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
    )


def place_calls_report(db, backend, clock):
    from carpool.notify.dispatcher import dispatch_once

    return dispatch_once(db, backend, clock, public_base_url=BASE)


def test_a_reminder_nobody_answers_is_not_called_again_after_the_trip(
    db, session, association, landline, backend, fake_twilio, clock, phone
):
    from carpool.notify import outbox as queue

    queue.enqueue_notice(
        session,
        "match:9:reminder:1h",
        landline,
        "Rappel : Sophie passe vous prendre à 10h30.",
        association_id=association.id,
        trip_at=clock.now() + timedelta(minutes=15),
    )
    session.commit()
    place_calls(db, backend, clock)
    phone.ring(fake_twilio.calls[0], status="busy")
    (row,) = outbox(session)
    assert (row.status, row.error_code) == (OutboundStatus.FAILED, "busy")
    assert "1 essai (occupé)" in row.error_message


def test_coordinators_see_once_that_the_call_budget_held_calls_back(
    db, session, association, coord_client, backend, clock
):
    from carpool.models import AuditEvent
    from carpool.notify import outbox as queue
    from carpool.notify.calls import CallLimits
    from carpool.notify.dispatcher import dispatch_once

    for n in range(3):
        queue.enqueue(
            session, f"g{n}", f"+3353649130{n}", "Rappel", association_id=association.id, channel="voice"
        )
    session.commit()
    for _ in range(2):
        dispatch_once(db, backend, clock, public_base_url=BASE, call_limits=CallLimits(global_hour=1))
    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "call_budget_reached")).all()
    assert [(e.association_id, e.details["scope"]) for e in events] == [(association.id, "global")]
    session.rollback()
    page = text(coord_client.get("/coordination/"))
    assert "Limite d'appels atteinte" in page and "plus aucun appel" in page and "jusqu'à 11 h" in page
