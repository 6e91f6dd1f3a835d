"""Model rules the database itself enforces, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError

from carpool.db import point
from carpool.models import (
    MATCH_TRANSITIONS,
    Association,
    Driver,
    MatchStatus,
    Offer,
    OutboundMessage,
    Resident,
)


@pytest.fixture
def association(session):
    association = Association(name="Test")
    session.add(association)
    session.flush()
    return association


def make_driver(session, association) -> Driver:
    driver = Driver(
        association_id=association.id,
        first_name="Sophie",
        last_name="Delmas",
        email="sophie@example.org",
        phone="+33639980001",
        home_commune_insee="46102",
        home_point=point(2.0346, 44.6098),
    )
    session.add(driver)
    session.flush()
    return driver


def make_offer(session, driver, **overrides) -> Offer:
    start = datetime(2026, 12, 1, 8, 0, tzinfo=ZoneInfo("Europe/Paris"))
    fields = dict(
        driver_id=driver.id,
        origin_commune_insee="46102",
        origin_point=point(2.0346, 44.6098),
        destination_commune_insee="46042",
        destination_point=point(1.4406, 44.4468),
        depart_earliest=start,
        depart_latest=start + timedelta(minutes=30),
        seats_total=3,
        seats_left=3,
    )
    fields.update(overrides)
    offer = Offer(**fields)
    session.add(offer)
    session.flush()
    return offer


def test_times_come_back_as_the_same_instant_in_utc(session, association):
    driver = make_driver(session, association)
    offer = make_offer(session, driver)
    session.commit()
    session.expire_all()

    stored = session.get(Offer, offer.id).depart_earliest

    assert stored.tzinfo is not None
    assert stored == datetime(2026, 12, 1, 7, 0, tzinfo=UTC)


def test_a_naive_time_is_refused(session, association):
    driver = make_driver(session, association)

    with pytest.raises(StatementError, match="naive datetime"):
        make_offer(
            session, driver, depart_earliest=datetime(2026, 12, 1, 8), depart_latest=datetime(2026, 12, 1, 9)
        )


def test_seats_left_cannot_go_below_zero(session, association):
    driver = make_driver(session, association)
    offer = make_offer(session, driver)
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
    assert not make_driver(session, association).is_vetted


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
