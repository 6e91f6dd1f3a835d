"""Twilio's status callback (``/sms/status?outbox=<id>``) applied to the outbox row."""

from __future__ import annotations

from support.sendkit import row

from carpool.models.messages import OutboundStatus
from carpool.notify.dispatcher import claim, record_sent, record_status

SID = "SM" + "1" * 32


def test_delivered_is_recorded(db, clock, queue):
    (outbox_id,) = queue(1)
    record_sent(db, outbox_id, SID, clock.now())
    with db.session() as session:
        record_status(session, outbox_id, SID, "delivered")
    assert row(db, outbox_id).status == OutboundStatus.DELIVERED


def test_undelivered_becomes_failed_with_the_carrier_code(db, clock, queue):
    (outbox_id,) = queue(1)
    record_sent(db, outbox_id, SID, clock.now())
    with db.session() as session:
        record_status(session, outbox_id, SID, "undelivered", error_code="30005")
    stored = row(db, outbox_id)
    assert (stored.status, stored.error_code) == (OutboundStatus.FAILED, "30005")


def test_a_callback_for_a_row_whose_dispatcher_died_records_the_sid(db, clock, queue):
    (outbox_id,) = queue(1)
    claim(db, clock.now(), batch=1, lease_seconds=60)  # sent, then the dispatcher died
    with db.session() as session:
        record_status(session, outbox_id, SID, "sent", now=clock.now())
    stored = row(db, outbox_id)
    assert (stored.status, stored.provider_sid, stored.sent_at, stored.lease_until) == (
        OutboundStatus.SENT,
        SID,
        clock.now(),
        None,
    )


def test_a_callback_arriving_before_the_dispatcher_saved_is_not_undone(db, clock, queue):
    (outbox_id,) = queue(1)
    claim(db, clock.now(), batch=1, lease_seconds=60)
    with db.session() as session:
        record_status(session, outbox_id, SID, "delivered")
    record_sent(db, outbox_id, SID, clock.now())  # the dispatcher's save comes second
    assert row(db, outbox_id).status == OutboundStatus.DELIVERED


def test_a_callback_for_another_sid_is_ignored(db, clock, queue):
    (outbox_id,) = queue(1)
    record_sent(db, outbox_id, SID, clock.now())
    with db.session() as session:
        record_status(session, outbox_id, "SM" + "2" * 32, "failed")
    stored = row(db, outbox_id)
    assert (stored.status, stored.provider_sid) == (OutboundStatus.SENT, SID)


def test_an_unknown_outbox_id_is_reported_as_none(db):
    with db.session() as session:
        assert record_status(session, 999_999, SID, "delivered") is None
