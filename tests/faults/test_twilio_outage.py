"""Twilio down for an hour: the SMS wait in the outbox and each leaves exactly once afterwards.

No real sleeping: a FrozenClock moves one minute per dispatcher pass. Two kinds of
outage: Twilio answers 503 to everything (sends and the reconciliation look-ups),
or nothing listens at all (connection refused).
"""

from __future__ import annotations

import socket
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
from support.fake_twilio import FakeTwilio

from carpool.models.messages import OutboundMessage, OutboundStatus
from carpool.notify.backends import TwilioBackend
from carpool.notify.dispatcher import BACKOFF_CAP, MAX_ATTEMPTS, backoff, dispatch_once

QUEUED = 40
OUTAGE = timedelta(hours=1)
STEP = timedelta(minutes=1)
BASE = "https://covoiturage.example.org"


def backend_at(fake: FakeTwilio, base_url: str) -> TwilioBackend:
    return TwilioBackend(
        fake.account_sid,
        fake.auth_token,
        from_number="+33639980000",
        api_base_url=base_url,
        timeout_seconds=2,
    )


def closed_port_url() -> str:
    """An address where nothing listens: every request is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def outbox_rows(db) -> list[OutboundMessage]:
    with db.session() as session:
        return list(session.scalars(sa.select(OutboundMessage).order_by(OutboundMessage.id)))


def test_the_attempts_outlast_an_hour_of_backoff():
    """Attempt n waits backoff(n) before attempt n+1: the last one comes well after an hour."""
    assert sum((backoff(n) for n in range(1, MAX_ATTEMPTS)), timedelta()) > OUTAGE
    assert backoff(MAX_ATTEMPTS) == BACKOFF_CAP


@pytest.mark.parametrize("kind", ["503", "refused"])
def test_an_hour_of_twilio_outage_loses_and_duplicates_nothing(db, clock, fake_twilio, queue, kind):
    ids = queue(QUEUED)
    up = backend_at(fake_twilio, fake_twilio.base_url)
    if kind == "503":
        fake_twilio.go_down()
        down = up
    else:
        down = backend_at(fake_twilio, closed_port_url())
    started, passes = clock.now(), 0
    while clock.now() - started < OUTAGE:
        dispatch_once(db, down, clock, batch=QUEUED, public_base_url=BASE)
        passes += 1
        clock.advance(minutes=1)

    waiting = outbox_rows(db)
    statuses = Counter(row.status for row in waiting)
    attempts = Counter(row.attempts for row in waiting)
    assert statuses == {OutboundStatus.PENDING: QUEUED}
    assert all(row.next_attempt_at - clock.now() <= BACKOFF_CAP for row in waiting)
    assert fake_twilio.messages == []

    fake_twilio.come_back()
    back = clock.now()
    while any(row.status is not OutboundStatus.SENT for row in outbox_rows(db)):
        assert clock.now() - back <= BACKOFF_CAP + STEP, "still waiting after the longest backoff"
        dispatch_once(db, up, clock, batch=QUEUED, public_base_url=BASE)
        passes += 1
        clock.advance(minutes=1)

    callbacks = Counter(m["status_callback"] for m in fake_twilio.messages)
    sent_ids = sorted(int(url.rsplit("=", 1)[1]) for url in callbacks)
    print(
        f"\n[twilio outage {kind}] queued={QUEUED} outage={OUTAGE} passes={passes} "
        f"requests={fake_twilio.requests} attempts during outage={dict(sorted(attempts.items()))} "
        f"all sent {clock.now() - back} after recovery, sent={len(fake_twilio.messages)} "
        f"lost={QUEUED - len(callbacks)} duplicated={sum(n - 1 for n in callbacks.values())}"
    )
    assert sent_ids == sorted(ids)
    assert len(fake_twilio.messages) == QUEUED
