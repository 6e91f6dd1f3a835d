"""Model rules the database itself enforces, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError
from support.factories import FIGEAC, WHERE, add_driver, add_offer

from carpool.db import point
from carpool.models import (
    MATCH_TRANSITIONS,
    Driver,
    MatchStatus,
    Offer,
    OutboundMessage,
    Resident,
)


def test_times_come_back_as_the_same_instant_in_utc(session, association):
    offer = add_offer(session, add_driver(session, association))
    session.commit()
    session.expire_all()

    stored = session.get(Offer, offer.id).depart_earliest

    assert stored.tzinfo is not None
    assert stored == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


def test_a_naive_time_is_refused(session, association):
    offer = add_offer(session, add_driver(session, association))
    offer.depart_earliest, offer.depart_latest = datetime(2026, 12, 1, 8), datetime(2026, 12, 1, 9)

    with pytest.raises(StatementError, match="naive datetime"):
        session.flush()


def test_seats_left_cannot_go_below_zero(session, association):
    offer = add_offer(session, add_driver(session, association))
    session.commit()

    with pytest.raises(IntegrityError):
        session.execute(sa.update(Offer).where(Offer.id == offer.id).values(seats_left=-1))
        session.flush()


def test_a_resident_phone_is_unique(session, association):
    for _ in range(2):
        session.add(
            Resident(
                association_id=association.id,
                phone="+33639981000",
                first_name="Jeanne",
                last_name="Delpech",
                home_commune_insee="46042",
            )
        )
    with pytest.raises(IntegrityError):
        session.flush()


def test_the_same_business_event_cannot_queue_two_sms(session, association):
    for _ in range(2):
        session.add(
            OutboundMessage(idempotency_key="match:42:proposed", to_phone="+33639981000", body="Bonjour")
        )
    with pytest.raises(IntegrityError):
        session.flush()


def test_a_driver_starts_pending(session, association):
    driver = Driver(
        association_id=association.id,
        first_name="Sophie",
        last_name="Delmas",
        email="sophie@example.org",
        phone="+33639980001",
        home_commune_insee=FIGEAC,
        home_point=point(*WHERE[FIGEAC]),
    )
    session.add(driver)
    session.flush()

    assert not driver.is_vetted


def test_final_match_states_allow_no_move():
    final = {
        MatchStatus.DECLINED,
        MatchStatus.COMPLETED,
        MatchStatus.CANCELLED,
        MatchStatus.NO_SHOW,
        MatchStatus.EXPIRED,
    }

    assert {state for state, moves in MATCH_TRANSITIONS.items() if not moves} == final
    assert set(MATCH_TRANSITIONS) == set(MatchStatus)
