"""Retention: inactive residents anonymised (statistics kept), old audit events deleted, dry run first."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from support.factories import add_driver, add_resident

from carpool.jobs import run_job
from carpool.models import AuditEvent, OutboundMessage, Request, RequestSource, RequestStatus, Resident
from carpool.services import audit


@pytest.fixture
def people(db, session, clock, association):
    now = clock.now()
    silent = add_resident(session, association, last_contact_at=now - timedelta(days=731), notes="diabétique")
    recent = add_resident(session, association, last_contact_at=now - timedelta(days=30))
    session.add(AuditEvent(at=now - timedelta(days=400), actor="system", action="old.thing", details={}))
    audit.record(session, "system", "recent.thing")
    session.commit()
    return silent.id, recent.id


def names(db):
    with db.session() as session:
        return {r.id: (r.first_name, r.phone, r.notes) for r in session.scalars(sa.select(Resident))}


def test_a_dry_run_reports_and_changes_nothing(db, clock, people):
    before = names(db)

    outcome = run_job(db, "retention", clock, dry_run=True)

    assert "habitants anonymisés : 1" in outcome.result
    assert "événements d'audit supprimés : 1" in outcome.result
    assert names(db) == before


def test_a_resident_silent_for_two_years_is_anonymised_and_the_others_kept(db, clock, people):
    silent, recent = people

    run_job(db, "retention", clock)

    after = names(db)
    assert after[silent] == ("Anonyme", f"anon:{silent}", "")
    assert after[recent][0] == "Jeanne"


def test_audit_events_older_than_a_year_are_deleted(db, clock, people):
    run_job(db, "retention", clock)

    with db.session() as session:
        actions = set(session.scalars(sa.select(AuditEvent.action)))
    assert "old.thing" not in actions and "recent.thing" in actions


def test_a_second_run_finds_nothing_more(db, clock, people):
    run_job(db, "retention", clock)

    assert "habitants anonymisés : 0" in run_job(db, "retention", clock).result


def test_a_resident_with_a_trip_ahead_is_never_anonymised(db, session, clock, association, people):
    from support.factories import add_request

    silent, _recent = people
    person = session.get_one(Resident, silent)
    add_request(
        session,
        association,
        resident=person,
        latest=clock.now() + timedelta(days=2),
        source=RequestSource.PHONE,
        status=RequestStatus.MATCHED,
    )
    session.commit()

    run_job(db, "retention", clock)

    assert names(db)[silent][0] == "Jeanne"
    assert session.scalar(sa.select(sa.func.count()).select_from(Request)) == 1


def test_anonymising_a_resident_hides_their_number_on_their_texts_only(db, session, clock, people):
    silent, _recent = people
    person = session.get_one(Resident, silent)
    phone, lot_id = person.phone, person.association_id
    driver = add_driver(session, type("Lot", (), {"id": lot_id})())
    driver.phone = phone  # a resident's number, as could be typed before it was refused
    for key, resident_id in (("theirs", silent), ("the driver's", None)):
        session.add(
            OutboundMessage(
                idempotency_key=key, association_id=lot_id, resident_id=resident_id, to_phone=phone, body="x"
            )
        )
    session.commit()

    run_job(db, "retention", clock)

    with db.session() as check:
        rows = check.execute(sa.select(OutboundMessage.idempotency_key, OutboundMessage.to_phone))
        numbers = dict(rows.all())
    assert numbers == {"theirs": f"anon:{silent}", "the driver's": phone}
