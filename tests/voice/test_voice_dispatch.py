"""The dispatcher and calls: one call per notice, reconciled after a timeout, one number at a time."""

from __future__ import annotations

from support.factories import add_resident
from support.sendkit import make_backend
from test_voice_outbound_calls import BASE, outbox

from carpool.models.messages import OutboundStatus
from carpool.notify import outbox as queue
from carpool.notify.dispatcher import dispatch_once

LANDLINE = "+33536491210"


def call(session, key: str, to: str = LANDLINE, **kwargs) -> int:
    row = queue.enqueue(session, key, to, f"Rappel {key}", channel="voice", **kwargs)
    session.commit()
    return row.id


def test_a_call_whose_answer_timed_out_is_found_in_twilios_list_not_placed_again(
    db, session, fake_twilio, clock
):
    backend = make_backend(fake_twilio, timeout_seconds=0.3)
    outbox_id = call(session, "k1")
    fake_twilio.hang_next(1, seconds=1.0)  # Twilio places the call, then answers too late
    first = dispatch_once(db, backend, clock, public_base_url=BASE, lease_seconds=2)
    clock.advance(minutes=1)
    second = dispatch_once(db, backend, clock, public_base_url=BASE, lease_seconds=2)
    (row,) = outbox(session)
    assert (first.retried, second.reconciled, len(fake_twilio.calls)) == (1, 1, 1)
    assert (row.id, row.status, row.provider_sid) == (
        outbox_id,
        OutboundStatus.SENT,
        fake_twilio.calls[0]["sid"],
    )


def test_two_calls_to_one_number_go_one_after_the_other(db, session, backend, fake_twilio, clock):
    call(session, "k1")
    call(session, "k2")
    call(session, "other", to="+33536491211")
    report = dispatch_once(db, backend, clock, public_base_url=BASE)
    assert (report.called, sorted(c["to"] for c in fake_twilio.calls)) == (2, [LANDLINE, "+33536491211"])
    dispatch_once(db, backend, clock, public_base_url=BASE)
    assert len(fake_twilio.calls) == 3


def test_a_resident_who_wants_both_gets_an_sms_and_a_call(
    db, session, association, backend, fake_twilio, clock
):
    resident = add_resident(session, association, channel="sms+voice")
    queue.enqueue_notice(
        session, "match:1:confirmed:passenger", resident, "C'est confirmé", association_id=association.id
    )
    session.commit()
    sms, voice = outbox(session)
    assert (sms.channel, sms.idempotency_key) == ("sms", "match:1:confirmed:passenger")
    assert (voice.channel, voice.idempotency_key) == ("voice", "match:1:confirmed:passenger:call")
    dispatch_once(db, backend, clock, public_base_url=BASE)
    assert (len(fake_twilio.messages), len(fake_twilio.calls)) == (1, 1)


def test_an_sms_resident_gets_no_call(db, session, association, backend, fake_twilio, clock):
    resident = add_resident(session, association)
    queue.enqueue_notice(
        session, "match:2:confirmed:passenger", resident, "C'est confirmé", association_id=association.id
    )
    session.commit()
    assert [r.channel for r in outbox(session)] == ["sms"]


def test_stop_by_sms_does_not_silence_calls(db, session, association, backend, fake_twilio, clock):
    resident = add_resident(
        session, association, channel="voice", phone="+33536491212", sms_opted_out_at=clock.now()
    )
    assert queue.enqueue_notice(
        session, "match:3:reminder:eve", resident, "Rappel", association_id=association.id
    )
    session.commit()
    assert [r.channel for r in outbox(session)] == ["voice"]


def test_a_call_held_until_morning_does_not_hold_back_an_urgent_one_to_the_same_number(
    db, session, backend, fake_twilio, clock
):
    from datetime import timedelta

    clock.advance(hours=-4)  # 06:00 in Paris
    call(session, "k1")  # not about a trip within 24 h: held until 09:00
    urgent = call(session, "k2", trip_at=clock.now() + timedelta(hours=2))
    dispatch_once(db, backend, clock, public_base_url=BASE)
    dispatch_once(db, backend, clock, public_base_url=BASE)
    assert [c["status_callback"].rsplit("=", 1)[1] for c in fake_twilio.calls] == [str(urgent)]
