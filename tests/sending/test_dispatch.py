"""The dispatcher with the real twilio client against the fake: once, retried, reconciled."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
from support.sendkit import SENDER, make_backend, phone, row, rows

from carpool.models.messages import OutboundMessage, OutboundStatus
from carpool.notify import dispatcher
from carpool.notify.backends import ConsoleBackend
from carpool.notify.dispatcher import MAX_ATTEMPTS, backoff, claim, dispatch_once, record_sent

BASE = "https://covoiturage.example.org"


def run(db, backend, clock, **kwargs):
    return dispatch_once(db, backend, clock, public_base_url=BASE, **kwargs)


def test_each_queued_row_becomes_one_well_formed_sms(db, twilio, fake_twilio, clock, queue):
    ids = queue(3)
    report = run(db, twilio, clock)
    sent = {m["status_callback"]: m for m in fake_twilio.messages}
    assert (report.sent, len(fake_twilio.messages)) == (3, 3)
    for outbox_id in ids:
        message, stored = sent[f"{BASE}/sms/status?outbox={outbox_id}"], row(db, outbox_id)
        assert (message["to"], message["from"], message["body"]) == (stored.to_phone, SENDER, stored.body)
        assert (stored.status, stored.provider_sid, stored.sent_at) == (
            OutboundStatus.SENT,
            message["sid"],
            clock.now(),
        )


def test_a_sent_row_is_not_sent_again(db, twilio, fake_twilio, clock, queue):
    queue(2)
    run(db, twilio, clock)
    clock.advance(hours=1)
    assert (run(db, twilio, clock).claimed, len(fake_twilio.messages)) == (0, 2)


def test_a_row_waits_for_its_not_before_time(db, session, twilio, fake_twilio, clock):
    from carpool.notify import outbox

    outbox.enqueue(session, "later", phone(1), "Rappel", not_before=clock.now() + timedelta(minutes=5))
    session.commit()
    early = run(db, twilio, clock).claimed
    clock.advance(minutes=5)
    assert (early, run(db, twilio, clock).sent) == (0, 1)


def test_backoff_doubles_from_thirty_seconds_up_to_thirty_minutes():
    assert [backoff(n).total_seconds() for n in range(1, 9)] == [30, 60, 120, 240, 480, 960, 1800, 1800]


def test_rate_limited_and_server_errors_are_retried_after_a_growing_delay(
    db, twilio, fake_twilio, clock, queue
):
    (outbox_id,) = queue(1)
    fake_twilio.fail_next(1, status=429)
    fake_twilio.fail_next(1, status=503)
    start = clock.now()
    first = run(db, twilio, clock)
    after_first = row(db, outbox_id)
    clock.advance(seconds=29)
    too_early = run(db, twilio, clock).claimed
    clock.advance(seconds=1)
    run(db, twilio, clock)
    after_second = row(db, outbox_id)
    clock.advance(seconds=60)
    last = run(db, twilio, clock)
    assert (first.retried, after_first.status, after_first.error_code) == (1, OutboundStatus.PENDING, "20429")
    assert (too_early, after_second.error_code) == (0, "20503")
    assert after_second.next_attempt_at == start + timedelta(seconds=30 + 60)
    assert (last.sent, len(fake_twilio.messages), row(db, outbox_id).attempts) == (1, 1, 3)


def test_a_row_fails_for_good_after_the_last_attempt(db, twilio, fake_twilio, clock, queue):
    (outbox_id,) = queue(1)
    fake_twilio.fail_next(MAX_ATTEMPTS, status=500)
    for _ in range(MAX_ATTEMPTS):
        run(db, twilio, clock)
        clock.advance(hours=1)
    stored = row(db, outbox_id)
    assert (stored.status, stored.attempts, fake_twilio.messages) == (OutboundStatus.FAILED, MAX_ATTEMPTS, [])


def test_an_invalid_number_fails_at_once_with_twilios_code_and_no_number_in_clear(
    db, twilio, fake_twilio, clock, queue
):
    (outbox_id,) = queue(1, to="+3363998")  # too short: the fake answers 21211
    report = run(db, twilio, clock)
    stored = row(db, outbox_id)
    assert (report.failed, stored.status, stored.error_code) == (1, OutboundStatus.FAILED, "21211")
    assert "+3363998" not in (stored.error_message or "")


@pytest.mark.parametrize("code", [21610, 21614])
def test_opted_out_and_landline_numbers_fail_without_retry(db, twilio, fake_twilio, clock, queue, code):
    (outbox_id,) = queue(1)
    fake_twilio.fail_next(1, status=400, code=code)
    run(db, twilio, clock)
    clock.advance(hours=1)
    run(db, twilio, clock)
    stored = row(db, outbox_id)
    assert (stored.status, stored.error_code, stored.attempts) == (OutboundStatus.FAILED, str(code), 1)


def test_a_timeout_after_twilio_accepted_is_reconciled_not_sent_twice(db, fake_twilio, clock, queue):
    backend = make_backend(fake_twilio, timeout_seconds=0.3)
    (outbox_id,) = queue(1)
    fake_twilio.hang_next(1, seconds=1.0, accept=True)
    first = run(db, backend, clock)
    clock.advance(seconds=30)
    second = run(db, backend, clock)
    stored = row(db, outbox_id)
    assert (first.retried, second.reconciled, second.sent) == (1, 1, 0)
    assert (len(fake_twilio.messages), stored.status) == (1, OutboundStatus.SENT)
    assert stored.provider_sid == fake_twilio.messages[0]["sid"]


def test_a_timeout_before_twilio_accepted_is_sent_on_the_retry(db, fake_twilio, clock, queue):
    backend = make_backend(fake_twilio, timeout_seconds=0.3)
    queue(1)
    fake_twilio.hang_next(1, seconds=1.0, accept=False)
    run(db, backend, clock)
    clock.advance(seconds=30)
    second = run(db, backend, clock)
    assert (second.reconciled, second.sent, len(fake_twilio.messages)) == (0, 1, 1)


def test_a_row_left_by_a_dead_dispatcher_after_sending_is_reconciled(db, twilio, fake_twilio, clock, queue):
    """Crash between the provider's answer and our commit: the row stays in ``sending``."""
    (outbox_id,) = queue(1)
    (claimed,) = claim(db, clock.now(), batch=5, lease_seconds=60)
    twilio.send(claimed.to_phone, claimed.body, None)  # ... and the process dies here
    still_leased = run(db, twilio, clock).claimed
    clock.advance(seconds=61)
    report = run(db, twilio, clock)
    assert (still_leased, report.reconciled, len(fake_twilio.messages)) == (0, 1, 1)
    assert row(db, outbox_id).provider_sid == fake_twilio.messages[0]["sid"]


def test_reconciliation_does_not_trust_the_clock_of_whoever_wrote_the_row(
    db, twilio, fake_twilio, clock, queue
):
    """A writer whose clock runs a week ahead (the scheduler's simulated week did) must not
    hide an earlier send: the search starts from the first attempt, on the dispatcher's clock."""
    (outbox_id,) = queue(1)
    with db.session() as session:
        session.get(OutboundMessage, outbox_id).created_at = clock.now() + timedelta(days=7)
    (claimed,) = claim(db, clock.now(), batch=5, lease_seconds=60)
    twilio.send(claimed.to_phone, claimed.body, None)  # ... and the process dies here
    clock.advance(seconds=61)
    report = run(db, twilio, clock)
    assert (report.reconciled, report.sent, len(fake_twilio.messages)) == (1, 0, 1)


def test_a_row_left_by_a_dead_dispatcher_before_sending_is_sent_once(db, twilio, fake_twilio, clock, queue):
    queue(1)
    claim(db, clock.now(), batch=5, lease_seconds=60)
    clock.advance(seconds=61)
    report = run(db, twilio, clock)
    assert (report.reconciled, report.sent, len(fake_twilio.messages)) == (0, 1, 1)


def test_two_rows_with_the_same_number_and_text_are_both_sent(db, twilio, fake_twilio, clock, queue):
    """Reconciliation skips a SID another row already owns."""
    queue(2, to=phone(7), body="Votre chauffeur arrive")
    (first,) = claim(db, clock.now(), batch=5, lease_seconds=60)  # twins go one after the other
    record_sent(db, first.id, twilio.send(first.to_phone, first.body, None), clock.now())
    claim(db, clock.now(), batch=5, lease_seconds=60)
    clock.advance(seconds=61)  # the second row's dispatcher died before sending
    report = run(db, twilio, clock)
    assert (report.reconciled, report.sent, len(fake_twilio.messages)) == (0, 1, 2)
    assert len({r.provider_sid for r in rows(db)}) == 2


def test_a_sid_wrongly_taken_by_a_twin_row_goes_back_to_its_sender(db, clock, queue):
    first, second = queue(2, to=phone(7), body="Votre chauffeur arrive")
    record_sent(db, second, "SM" + "a" * 32, clock.now())  # twin reconciled onto first's message
    record_sent(db, first, "SM" + "a" * 32, clock.now())  # first learns its SID: proof it sent it
    assert [(r.status, r.provider_sid) for r in rows(db)] == [
        (OutboundStatus.SENT, "SM" + "a" * 32),
        (OutboundStatus.PENDING, None),
    ]


def test_a_twin_waits_while_an_older_twin_may_be_at_the_provider(db, clock, queue):
    first, second = queue(2, to=phone(7), body="Votre chauffeur arrive")
    held = claim(db, clock.now(), batch=5, lease_seconds=60)
    while_first_in_flight = claim(db, clock.now(), batch=5, lease_seconds=60)
    record_sent(db, first, "SM" + "a" * 32, clock.now())
    after = claim(db, clock.now(), batch=5, lease_seconds=60)
    assert ([c.id for c in held], while_first_in_flight, [c.id for c in after]) == ([first], [], [second])


def test_twins_whose_dispatchers_died_each_reach_twilio_once(db, twilio, fake_twilio, clock, queue):
    """The kill test's duplicate: a dead dispatcher's message was reconciled onto its older twin,
    and the row that really sent it was sent again (two texts for one, one for the other)."""
    first, second = queue(2, to=phone(7), body="Votre chauffeur arrive")
    held = claim(db, clock.now(), batch=1, lease_seconds=60) + claim(
        db, clock.now(), batch=1, lease_seconds=60
    )
    for row_held in held:  # two dispatchers: one dies before sending, the other after
        if row_held.id == second:
            twilio.send(row_held.to_phone, row_held.body, dispatcher.status_callback_url(BASE, second))
    clock.advance(seconds=61)
    for _ in range(3):
        run(db, twilio, clock)
    posts = Counter(int(m["status_callback"].rsplit("=", 1)[1]) for m in fake_twilio.messages)
    assert (posts, {r.status for r in rows(db)}) == ({first: 1, second: 1}, {OutboundStatus.SENT})


def test_two_claims_never_share_a_row(db, clock, queue):
    queue(8)
    first = claim(db, clock.now(), batch=5, lease_seconds=60)
    second = claim(db, clock.now(), batch=5, lease_seconds=60)
    assert (len(first), len(second), {c.id for c in first} & {c.id for c in second}) == (5, 3, set())


def test_concurrent_dispatchers_in_threads_send_each_row_once(db, fake_twilio, clock, queue):
    queue(30)
    backend = make_backend(fake_twilio)
    reports = []

    def work() -> None:
        reports.append(run(db, backend, clock, batch=4))

    for _ in range(3):
        threads = [threading.Thread(target=work) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    bodies = fake_twilio.bodies()
    assert (len(bodies), len(set(bodies)), sum(r.sent for r in reports)) == (30, 30, 30)


def test_a_stop_request_gives_unsent_rows_back_without_counting_an_attempt(db, twilio, clock, queue):
    queue(3)
    stop = threading.Event()
    stop.set()
    report = run(db, twilio, clock, stop_event=stop)
    assert (report.claimed, report.released) == (3, 3)
    assert [(r.status, r.attempts, r.lease_until) for r in rows(db)] == [
        (OutboundStatus.PENDING, 0, None)
    ] * 3


def test_a_lease_shorter_than_two_timeouts_is_refused(db, clock):
    with pytest.raises(ValueError, match="lease_seconds"):
        dispatch_once(db, ConsoleBackend(), clock, lease_seconds=2)


def test_run_forever_sends_then_stops_when_asked(db, twilio, fake_twilio, clock, queue):
    queue(3)
    stop = threading.Event()
    thread = threading.Thread(
        target=dispatcher.run_forever, args=(db, twilio, clock, stop, 0.05), kwargs={"public_base_url": BASE}
    )
    thread.start()
    for _ in range(100):
        if len(fake_twilio.messages) == 3:
            break
        stop.wait(0.05)
    stop.set()
    thread.join(timeout=5)
    with db.session() as session:
        sent = session.scalar(sa.select(sa.func.count()).where(OutboundMessage.status == OutboundStatus.SENT))
    assert (thread.is_alive(), sent) == (False, 3)
