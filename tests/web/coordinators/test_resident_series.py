"""A resident's page lists their recurring appointments, with pause, resume and end."""

from __future__ import annotations

from datetime import date, time

import pytest
import sqlalchemy as sa
from support.drivers_kit import text
from support.factories import TUESDAY, add_association, add_request, add_resident

from carpool.models import AppointmentSeries, Request, RequestStatus, SeriesState
from carpool.services import series as series_service


@pytest.fixture
def weekly(session, association, clock):
    first = add_request(session, association, appointment=time(10, 0))
    series = series_service.create(
        session,
        first,
        series_service.SeriesInput(weekdays=(1,), arrive_by=time(10, 0), first_day=TUESDAY.date()),
        actor="user:1",
    )
    series_service.materialise(session, clock)
    session.commit()
    return series


def url(series) -> str:
    return f"/coordination/habitants/{series.resident_id}/series/{series.id}"


def state(session, series) -> SeriesState:
    """Read, then let go: SQLite's write lock would keep the app waiting."""
    series_id = series.id
    session.expire_all()
    found = session.get_one(AppointmentSeries, series_id).state
    session.rollback()
    return found


def test_the_resident_page_shows_the_series_in_words(coord_client, weekly):
    page = text(coord_client.get(f"/coordination/habitants/{weekly.resident_id}"))

    assert "Rendez-vous réguliers" in page
    assert "tous les mardis à 10h" in page
    assert "Mettre en pause" in page


def test_a_hospital_stay_pauses_the_series_and_cancels_the_trips_meanwhile(coord_client, session, weekly):
    response = coord_client.post(url(weekly), data={"action": "pause", "paused_until": "2026-12-09"})

    assert response.status_code == 302
    assert state(session, weekly) is SeriesState.PAUSED
    cancelled = session.scalars(
        sa.select(Request.series_day)
        .where(Request.status == RequestStatus.CANCELLED)
        .order_by(Request.series_day)
    ).all()
    assert cancelled == [date(2026, 12, 1), date(2026, 12, 8)]


def test_resuming_and_ending_a_series(coord_client, session, weekly):
    target = url(weekly)
    coord_client.post(target, data={"action": "pause"})
    coord_client.post(target, data={"action": "resume"})
    resumed = state(session, weekly)
    coord_client.post(target, data={"action": "end"})

    assert (resumed, state(session, weekly)) == (SeriesState.ACTIVE, SeriesState.ENDED)


def test_resuming_an_active_series_says_why_not_without_an_error_page(coord_client, session, weekly):
    response = coord_client.post(url(weekly), data={"action": "resume"}, follow_redirects=True)

    assert response.status_code == 200
    assert "Cette série n&#39;est pas en pause." in response.get_data(as_text=True)


def test_another_associations_series_is_not_found(coord_client, session, weekly):
    other = add_association(session, "Ailleurs", sms_number=None, phone=None)
    stranger = add_resident(session, other)
    session.commit()

    response = coord_client.post(
        f"/coordination/habitants/{stranger.id}/series/{weekly.id}", data={"action": "end"}
    )

    assert response.status_code == 404
    assert state(session, weekly) is SeriesState.ACTIVE
