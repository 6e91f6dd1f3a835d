"""The daily ``series`` job: run by the scheduler with the process's settings, like every job."""

from __future__ import annotations

from datetime import time

import pytest
from support.factories import TUESDAY, add_request

from carpool import scheduler
from carpool.config import Settings
from carpool.errors import StartupError
from carpool.leader import leadership_for
from carpool.services import series as series_service


@pytest.fixture
def weekly(session, association):
    first = add_request(session, association, appointment=time(10, 0))
    plan = series_service.SeriesInput(weekdays=(1,), arrive_by=time(10, 0), first_day=TUESDAY.date())
    series_service.create(session, first, plan, actor="user:1")
    session.commit()


def test_the_scheduler_runs_the_series_job_with_its_weeks_ahead(db, clock, weekly):
    leader = leadership_for(db, 30)
    assert leader.acquire()
    try:
        outcomes = scheduler.run_once(db, clock, leader, Settings(series_weeks_ahead=3), None)
    finally:
        leader.release()

    (series,) = [o for o in outcomes if o.name == "series"]
    assert (series.ok, series.result) == (
        True,
        "demandes des séries ajoutées : 1 ; offres des conducteurs prolongées : 0",
    )


def test_series_weeks_ahead_is_checked_at_start_up():
    with pytest.raises(StartupError, match="SERIES_WEEKS_AHEAD"):
        Settings.from_env({"SERIES_WEEKS_AHEAD": "0"})

    assert Settings.from_env({"SERIES_WEEKS_AHEAD": "6"}).series_weeks_ahead == 6
