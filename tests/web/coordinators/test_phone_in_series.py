"""On the phone, a recurring appointment: the weekdays ticked on the form make a series."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from support.drivers_kit import count, text
from support.factories import add_resident

from carpool.models import AppointmentSeries, Request

TRIP = {"destination": "Cahors", "day": "2026-12-01", "arrive_by": "10:00", "passengers": "1", "purpose": ""}


@pytest.fixture
def resident(session, association):
    resident = add_resident(session, association)
    session.commit()
    return resident


def test_weekdays_ticked_make_a_series_from_the_request(coord_client, session, resident):
    data = {
        **TRIP,
        "weekdays": ["0", "2", "4"],
        "every_weeks": "2",
        "until": "2027-02-26",
        "return_at": "12:30",
    }

    response = coord_client.post(f"/coordination/appel/{resident.id}", data=data)

    request = session.scalars(sa.select(Request)).one()
    series = session.scalars(sa.select(AppointmentSeries)).one()
    assert response.headers["Location"].endswith(f"/coordination/demandes/{request.id}")
    assert (series.days, series.every_weeks, series.until, series.return_at.hour, series.resident_id) == (
        (0, 2, 4),
        2,
        date(2027, 2, 26),
        12,
        resident.id,
    )


def test_no_weekday_ticked_is_a_single_trip(coord_client, session, resident):
    coord_client.post(f"/coordination/appel/{resident.id}", data=TRIP)

    assert (count(session, Request), count(session, AppointmentSeries)) == (1, 0)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"until": "2027-01-31"}, "Choisissez au moins un jour de la semaine."),
        (
            {"weekdays": ["1"], "until": "2026-11-30"},
            "La date de fin doit être après le premier rendez-vous.",
        ),
    ],
)
def test_a_bad_recurrence_is_refused_in_french_and_nothing_is_saved(
    coord_client, session, resident, changes, message
):
    response = coord_client.post(f"/coordination/appel/{resident.id}", data={**TRIP, **changes})

    assert response.status_code == 422
    assert message in text(response).replace("&#39;", "'")
    assert (count(session, Request), count(session, AppointmentSeries)) == (0, 0)
