"""A driver not yet vetted may have 5 upcoming offers at most, a vetted one 200: nobody can load
the matcher with thousands of offers. Past and cancelled offers do not count."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from support.drivers_kit import OFFER_FORM, count, log_in, text
from support.factories import add_driver_account

from carpool.models import Offer, VettingStatus
from carpool.services import accounts, drivers
from carpool.services import offers as offer_service

API_OFFER = {"origin": "Figeac", "destination": "Cahors", "date": "2026-12-01", "time": "08:00"}


@pytest.fixture
def pending(session, association, clock):
    return add_driver_account(session, association, clock, vetting=VettingStatus.PENDING)


@pytest.fixture
def pending_client(client, no_csrf, pending):
    log_in(client, pending)
    return client


def bearer(session, user, clock) -> dict[str, str]:
    _token, secret = accounts.create_api_token(session, user, "tests", clock)
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


def offer_on(day: int) -> dict[str, str]:
    return {**OFFER_FORM, "day": f"2026-12-{day:02d}"}


def test_a_pending_driver_may_have_five_upcoming_offers(pending_client, session):
    for day in range(1, 6):
        assert pending_client.post("/conducteurs/trajets/nouveau", data=offer_on(day)).status_code == 303

    sixth = pending_client.post("/conducteurs/trajets/nouveau", data=offer_on(6))

    assert sixth.status_code == 422
    assert "Tant qu'un coordinateur n'a pas validé votre inscription" in text(sixth)
    assert "5 trajets à venir au plus" in text(sixth)
    assert count(session, Offer) == 5


def test_a_pending_drivers_series_past_the_cap_is_refused_whole_in_json(client, session, pending, clock):
    series = {**API_OFFER, "repeat_days": [1, 3], "repeat_until": "2026-12-17"}  # six days

    response = client.post("/api/v1/offers", json=series, headers=bearer(session, pending, clock))

    assert response.status_code == 422
    assert "5 trajets à venir au plus" in response.get_json()["fields"][""]
    assert count(session, Offer) == 0


def test_past_and_cancelled_offers_leave_room(pending_client, session, pending, clock):
    for day in range(1, 6):
        pending_client.post("/conducteurs/trajets/nouveau", data=offer_on(day))
    first = session.scalars(sa.select(Offer).order_by(Offer.depart_earliest)).first()
    offer_service.cancel_offer(session, drivers.driver_of(session, pending), first.id, "", clock)
    session.commit()

    again = pending_client.post("/conducteurs/trajets/nouveau", data=offer_on(7))
    clock.advance(days=9)  # 2 December: the offer of the 1st is past
    log_in(pending_client, pending)  # nine days later the session has long timed out
    once_more = pending_client.post("/conducteurs/trajets/nouveau", data=offer_on(9))

    assert (again.status_code, once_more.status_code) == (303, 303)


def test_a_vetted_driver_may_offer_twelve_weeks_of_daily_returns_but_not_twice(client, session, user, clock):
    headers = bearer(session, user, clock)
    daily = {
        **API_OFFER,
        "return_time": "17:00",
        "repeat_days": list(range(7)),
        "repeat_until": "2027-02-23",  # twelve weeks
    }

    first = client.post("/api/v1/offers", json=daily, headers=headers)
    created = count(session, Offer)
    second = client.post(
        "/api/v1/offers", json={**daily, "time": "09:00", "return_time": "18:00"}, headers=headers
    )

    assert first.status_code == 201
    assert created > 150
    assert second.status_code == 422
    assert f"{offer_service.MAX_UPCOMING_OFFERS} trajets à venir au plus" in second.get_json()["fields"][""]
    assert count(session, Offer) == created
