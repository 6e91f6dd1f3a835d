"""Queuing an SMS: one row per business event, written with its cause, never sent here."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import sqlalchemy as sa
from support.factories import add_resident
from support.sendkit import rows

from carpool.models.messages import OutboundMessage, OutboundStatus
from carpool.notify import outbox


def test_enqueue_adds_a_pending_row_in_the_callers_transaction(db, session, clock):
    row = outbox.enqueue(session, "match:1:proposed", "+33639980012", "Bonjour", not_before=clock.now())
    session.commit()
    assert (row.status, row.attempts, row.provider_sid, row.next_attempt_at) == (
        OutboundStatus.PENDING,
        0,
        None,
        clock.now(),
    )


def test_a_second_enqueue_of_the_same_key_changes_nothing(db, session):
    first = outbox.enqueue(session, "match:1:proposed", "+33639980012", "Bonjour")
    second = outbox.enqueue(session, "match:1:proposed", "+33639980099", "Autre texte")
    session.commit()
    assert second is first and [(r.to_phone, r.body) for r in rows(db)] == [("+33639980012", "Bonjour")]


def test_a_rolled_back_transaction_leaves_no_sms(db, session):
    outbox.enqueue(session, "match:1:proposed", "+33639980012", "Bonjour")
    session.rollback()
    assert rows(db) == []


def test_a_naive_not_before_is_refused(db, session, clock):
    try:
        outbox.enqueue(session, "k", "+33639980012", "Bonjour", not_before=clock.now().replace(tzinfo=None))
    except ValueError:
        return
    raise AssertionError("naive not_before accepted")


def test_a_resident_who_opted_out_gets_nothing_unless_the_caller_insists(db, session, association, clock):
    add_resident(session, association, "+33639980012", sms_opted_out_at=clock.now() - timedelta(days=1))
    refused = outbox.enqueue(session, "reminder:1", "+33639980012", "Rappel")
    forced = outbox.enqueue(
        session, "stop:1", "+33639980012", "Désinscription confirmée", respect_opt_out=False
    )
    assert refused is None and forced is not None


def test_two_transactions_queuing_the_same_key_at_once_make_one_row(db):
    """The check-then-insert race: the unique key decides and the loser gets the winner's row."""
    results = {}
    with db.session() as first:
        winner = outbox.enqueue(first, "race:1", "+33639980012", "Bonjour")
        first.flush()

        def second() -> None:
            with db.session() as other:
                row = outbox.enqueue(other, "race:1", "+33639980012", "Bonjour")
                results["id"] = row.id if row else None

        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.3)  # the second transaction is now waiting on our lock or the unique index
        winner_id = winner.id
    thread.join(timeout=10)
    with db.session() as session:
        count = session.scalar(sa.select(sa.func.count()).select_from(OutboundMessage))
    assert (count, results.get("id")) == (1, winner_id)
