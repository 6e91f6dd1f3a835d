"""SMS texts disappear after the retention period; nothing waiting to be sent is touched."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from carpool.models import InboundMessage, OutboundMessage, OutboundStatus
from carpool.services.retention import purge_sms_bodies


@pytest.fixture
def messages(session, clock, association):
    association.sms_retention_days = 30
    old, recent = clock.now() - timedelta(days=31), clock.now() - timedelta(days=29)
    rows = {
        "old_sent": OutboundMessage(
            idempotency_key="a",
            association_id=association.id,
            to_phone="+33639980001",
            body="rdv hopital",
            status=OutboundStatus.SENT,
            created_at=old,
        ),
        "old_pending": OutboundMessage(
            idempotency_key="b",
            association_id=association.id,
            to_phone="+33639980001",
            body="en attente",
            status=OutboundStatus.PENDING,
            created_at=old,
        ),
        "recent_sent": OutboundMessage(
            idempotency_key="c",
            association_id=association.id,
            to_phone="+33639980001",
            body="récent",
            status=OutboundStatus.SENT,
            created_at=recent,
        ),
        "old_inbound": InboundMessage(
            message_sid="SM1",
            association_id=association.id,
            from_phone="+33639980001",
            body="jai rdv chez le cardiologue",
            created_at=old,
        ),
        "unknown_sender": InboundMessage(
            message_sid="SM2",
            from_phone="+33639980002",
            body="bonjour",
            created_at=clock.now() - timedelta(days=91),
        ),
    }
    session.add_all(rows.values())
    session.commit()
    return {name: (type(row), row.id) for name, row in rows.items()}


def body(db, messages, name):
    model, row_id = messages[name]
    with db.session() as session:
        return session.get_one(model, row_id).body


def test_old_texts_are_emptied_and_recent_ones_kept(db, session, clock, messages):
    report = purge_sms_bodies(session, clock.now())
    session.commit()

    assert (report.outbound_bodies, report.inbound_bodies) == (1, 2)
    assert body(db, messages, "old_sent") is None
    assert body(db, messages, "old_inbound") is None
    assert body(db, messages, "unknown_sender") is None
    assert body(db, messages, "recent_sent") == "récent"


def test_a_message_still_to_send_keeps_its_text(db, session, clock, messages):
    purge_sms_bodies(session, clock.now())
    session.commit()

    assert body(db, messages, "old_pending") == "en attente"


def test_a_dry_run_counts_and_changes_nothing(db, session, clock, messages):
    report = purge_sms_bodies(session, clock.now(), dry_run=True)
    session.commit()

    assert (report.outbound_bodies, report.inbound_bodies) == (1, 2)
    assert str(report) == "textes de SMS seraient effacés : 1 envoyés, 2 reçus"
    assert body(db, messages, "old_sent") == "rdv hopital"
    with db.session() as check:
        assert (
            check.scalar(
                sa.select(sa.func.count()).select_from(InboundMessage).where(InboundMessage.body.is_(None))
            )
            == 0
        )
