"""Vetting asks for proof (documents seen, valid dates); pausing is always possible; all audited."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from support.factories import CAHORS, FIGEAC, PARIS, add_driver, add_offer, add_request

from carpool.clock import FrozenClock
from carpool.errors import InvalidInput
from carpool.models import AuditEvent, VettingStatus
from carpool.services import matching
from carpool.services.vetting import (
    Validity,
    VettingInput,
    counts,
    record_vetting,
    registry,
    validity,
)

TODAY = date(2026, 11, 30)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 30, 9, 0, tzinfo=PARIS))


def vet(**changes) -> VettingInput:
    fields = {
        "decision": VettingStatus.VETTED,
        "documents_seen": True,
        "licence_valid_until": date(2035, 1, 1),
        "insurance_valid_until": date(2027, 6, 30),
        "note": "Permis B vu au local.",
    }
    return VettingInput(**{**fields, **changes})


def test_a_driver_with_documents_seen_and_valid_dates_is_vetted(session, association, clock):
    driver = add_driver(session, association, vetting=VettingStatus.PENDING)

    record_vetting(session, driver, vet(), actor="user:1", clock=clock)

    assert driver.vetting is VettingStatus.VETTED
    assert driver.vetted_at == clock.now() and driver.documents_checked_at == clock.now()
    assert (driver.licence_valid_until, driver.insurance_valid_until) == (date(2035, 1, 1), date(2027, 6, 30))


def test_vetting_is_audited_with_the_previous_state(session, association, clock):
    driver = add_driver(session, association, vetting=VettingStatus.PENDING)
    record_vetting(session, driver, vet(), actor="user:1", clock=clock)

    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.subject_id == driver.id)).all()

    assert {(e.action, e.details.get("previous")) for e in events} >= {("driver.vetted", "pending")}
    assert "driver.vetting_recorded" in {e.action for e in events}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"documents_seen": False}, "documents_seen"),
        ({"licence_valid_until": None}, "licence_valid_until"),
        ({"insurance_valid_until": date(2026, 11, 29)}, "insurance_valid_until"),
        ({"licence_valid_until": date(2206, 1, 1)}, "licence_valid_until"),
    ],
)
def test_vetting_without_proof_is_refused_and_changes_nothing(session, association, clock, changes, field):
    driver = add_driver(session, association, vetting=VettingStatus.PENDING)

    with pytest.raises(InvalidInput) as refused:
        record_vetting(session, driver, vet(**changes), actor="user:1", clock=clock)

    assert field in refused.value.errors
    assert driver.vetting is VettingStatus.PENDING and driver.documents_checked_at is None


def test_a_document_ending_today_is_still_valid(session, association, clock):
    driver = add_driver(session, association, vetting=VettingStatus.PENDING)

    record_vetting(session, driver, vet(insurance_valid_until=TODAY), actor="user:1", clock=clock)

    assert driver.is_vetted


def test_pausing_needs_no_documents_even_when_they_expired(session, association, clock):
    driver = add_driver(session, association, licence_valid_until=date(2020, 1, 1))
    paused = VettingInput(VettingStatus.PAUSED, False, None, None, "En vacances jusqu'en mars.")

    record_vetting(session, driver, paused, actor="user:1", clock=clock)

    assert driver.vetting is VettingStatus.PAUSED
    assert (
        driver.licence_valid_until == date(2020, 1, 1) and driver.vetting_note == "En vacances jusqu'en mars."
    )


def old_offer(session, association, driver, clock):
    """An offer last changed an hour ago, and a later one elsewhere: the index's refresh
    no longer re-reads the first one by itself."""
    offer = add_offer(session, driver)
    offer.updated_at = clock.now() - timedelta(hours=1)
    elsewhere = add_offer(session, add_driver(session, association), origin=CAHORS, destination=FIGEAC)
    elsewhere.updated_at = clock.now()
    session.flush()
    return offer


def test_a_paused_driver_s_offers_leave_the_cached_index_at_once(session, association, clock):
    driver = add_driver(session, association)
    old_offer(session, association, driver, clock)
    request = add_request(session, association)
    assert matching.ride_options(session, request, clock)

    paused = VettingInput(VettingStatus.PAUSED, False, None, None)
    record_vetting(session, driver, paused, actor="user:1", clock=clock)

    assert matching.ride_options(session, request, clock) == []


def test_a_vetted_driver_s_offers_join_the_cached_index_at_once(session, association, clock):
    driver = add_driver(session, association, vetting=VettingStatus.PENDING)
    offer = old_offer(session, association, driver, clock)
    request = add_request(session, association)
    assert matching.ride_options(session, request, clock) == []

    record_vetting(session, driver, vet(), actor="user:1", clock=clock)

    assert [o.offer_id for o in matching.ride_options(session, request, clock)] == [offer.id]


@pytest.mark.parametrize(
    ("until", "expected"),
    [
        (None, Validity.MISSING),
        (date(2026, 11, 29), Validity.EXPIRED),
        (TODAY, Validity.SOON),
        (date(2026, 12, 30), Validity.SOON),
        (date(2026, 12, 31), Validity.OK),
    ],
)
def test_document_validity_warns_thirty_days_ahead(until, expected):
    assert validity(until, TODAY) is expected


def test_the_registry_flags_vetted_drivers_with_expiring_documents(session, association, clock):
    add_driver(
        session, association, licence_valid_until=date(2030, 1, 1), insurance_valid_until=date(2026, 12, 5)
    )
    add_driver(session, association, vetting=VettingStatus.PENDING)

    rows = registry(session, association.id, TODAY)

    assert [(r.driver.vetting, r.warning) for r in rows] == [
        (VettingStatus.PENDING, False),
        (VettingStatus.VETTED, True),
    ]


def test_counts_cover_every_state(session, association):
    add_driver(session, association)
    add_driver(session, association, vetting=VettingStatus.PAUSED)

    assert counts(session, association.id) == {
        VettingStatus.PENDING: 0,
        VettingStatus.VETTED: 1,
        VettingStatus.PAUSED: 1,
    }
