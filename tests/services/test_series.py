"""A resident's series: checked when made, turned into requests weeks ahead, paused, resumed, ended."""

from __future__ import annotations

import threading
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from support.factories import CAHORS, FIGEAC, TUESDAY, add_driver, add_offer, add_request

from carpool.clock import PARIS
from carpool.errors import InvalidInput
from carpool.jobs import run_job
from carpool.models import AppointmentSeries, Offer, Request, RequestStatus, Resident, SeriesState
from carpool.services import matching, residents
from carpool.services import series as series_service

FIRST = TUESDAY.date()  # Tuesday 1 December 2026; the clock says Monday 23 November


def plan(**fields) -> series_service.SeriesInput:
    values = {"weekdays": (1,), "arrive_by": time(10, 0), "first_day": FIRST} | fields
    return series_service.SeriesInput(**values)


@pytest.fixture
def first(session, association):
    return add_request(session, association, appointment=time(10, 0))


def make_series(session, first, **fields) -> AppointmentSeries:
    series = series_service.create(session, first, plan(**fields), actor="user:1")
    session.commit()
    return series


def occurrences(session, series) -> list[date]:
    return list(
        session.scalars(
            sa.select(Request.series_day)
            .where(Request.series_id == series.id, Request.status == RequestStatus.OPEN)
            .order_by(Request.series_day)
        )
    )


def tuesdays(*days: int) -> list[date]:
    return [FIRST + timedelta(days=day) for day in days]


def test_a_series_keeps_the_first_request_as_its_first_day(session, first):
    series = make_series(session, first, return_at=time(11, 30))

    assert (series.days, series.state, first.series_id, first.series_day) == (
        (1,),
        SeriesState.ACTIVE,
        series.id,
        FIRST,
    )


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"weekdays": ()}, "weekdays", "Choisissez au moins un jour de la semaine."),
        (
            {"until": FIRST - timedelta(days=1)},
            "until",
            "La date de fin doit être après le premier rendez-vous.",
        ),
        ({"return_at": time(9, 0)}, "return_at", "Le retour doit être après le rendez-vous."),
    ],
)
def test_a_bad_series_is_refused_in_french_and_nothing_is_saved(session, first, fields, field, message):
    with pytest.raises(InvalidInput) as refused:
        series_service.create(session, first, plan(**fields), actor="user:1")

    assert refused.value.errors == {field: message}
    assert session.scalar(sa.select(sa.func.count()).select_from(AppointmentSeries)) == 0


def test_materialising_adds_each_day_up_to_four_weeks_ahead_once(session, first, clock):
    series = make_series(session, first)

    added = series_service.materialise(session, clock, weeks=4)
    again = series_service.materialise(session, clock, weeks=4)

    assert (len(added), again) == (2, [])
    assert occurrences(session, series) == tuesdays(0, 7, 14)


def test_an_occurrence_is_an_ordinary_open_request_at_the_series_time(session, first, clock):
    make_series(session, first, return_at=time(11, 30))

    request = session.get_one(Request, series_service.materialise(session, clock)[0])

    assert (request.latest, request.return_at, request.dropoff_commune_insee) == (
        datetime(2026, 12, 8, 10, 0, tzinfo=PARIS),
        datetime(2026, 12, 8, 11, 30, tzinfo=PARIS),
        first.dropoff_commune_insee,
    )


def test_two_schedulers_materialising_at_once_make_each_day_once(db, session, first, clock):
    series = make_series(session, first)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def materialise() -> None:
        try:
            with db.sessionmaker() as other, other.begin():
                start.wait(timeout=10)
                series_service.materialise(other, clock)
        except BaseException as error:  # reported by the assert below
            errors.append(error)

    threads = [threading.Thread(target=materialise) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert occurrences(session, series) == tuesdays(0, 7, 14)


def test_a_paused_series_skips_its_days_and_resumes_them(session, first, clock):
    series = make_series(session, first)
    today = clock.now().date()

    series_service.pause(session, series, FIRST + timedelta(days=10), actor="user:1", today=today)
    series_service.materialise(session, clock)
    paused = occurrences(session, series)
    series_service.resume(session, series, actor="user:1", today=today)

    assert (paused, occurrences(session, series)) == (tuesdays(14), tuesdays(0, 14))


def test_a_pause_ends_by_itself_after_its_date(session, first, clock):
    series = make_series(session, first)
    series_service.pause(session, series, FIRST, actor="user:1", today=clock.now().date())

    clock.advance(days=9)
    series_service.materialise(session, clock)

    assert series.state is SeriesState.ACTIVE
    assert occurrences(session, series) == tuesdays(7, 14, 21, 28)


def test_an_ended_series_makes_no_more_requests(session, first, clock):
    series = make_series(session, first)
    series_service.materialise(session, clock)

    cancelled = series_service.end(session, series, actor="user:1", now=clock.now())

    assert (cancelled, series_service.materialise(session, clock)) == (3, [])
    assert occurrences(session, series) == []


def test_every_other_week_skips_a_week(session, first, clock):
    series = make_series(session, first, every_weeks=2)

    series_service.materialise(session, clock, weeks=6)

    assert occurrences(session, series) == tuesdays(0, 14, 28)


def test_no_request_after_the_last_day(session, first, clock):
    series = make_series(session, first, until=FIRST + timedelta(days=7))

    series_service.materialise(session, clock, weeks=6)

    assert occurrences(session, series) == tuesdays(0, 7)


def test_several_weekdays_each_get_their_request(session, first, clock):
    series = make_series(session, first, weekdays=(1, 3))

    series_service.materialise(session, clock, weeks=2)

    assert occurrences(session, series) == tuesdays(0, 2)


def test_the_series_reads_as_a_french_sentence(session, first):
    series = make_series(session, first, weekdays=(0, 2, 4), return_at=time(12, 30), until=date(2027, 2, 2))

    assert series_service.describe(series) == (
        "tous les lundis, mercredis et vendredis à 10h, retour 12h30, jusqu'au 2/02"
    )


def weekly_offers(session, association, weeks: int) -> None:
    """A driver's Tuesday trip to Cahors and back, from 24 November, for ``weeks`` weeks."""
    driver = add_driver(session, association)
    for week in range(weeks):
        day = date(2026, 11, 24) + timedelta(weeks=week)
        outward = add_offer(session, driver, origin=FIGEAC, destination=CAHORS, day=day)
        back = add_offer(session, driver, depart=time(17, 0), origin=CAHORS, destination=FIGEAC, day=day)
        outward.series_id = back.series_id = "weekly"
        back.return_of_id = outward.id
    session.commit()


def test_a_drivers_open_ended_weekly_offers_are_kept_twelve_weeks_ahead(session, association, clock):
    weekly_offers(session, association, weeks=12)  # as far as the offer form goes: up to 9 February
    clock.advance(days=14)

    added = series_service.extend_offers(session, clock)
    again = series_service.extend_offers(session, clock)

    offers = session.scalars(sa.select(Offer).where(Offer.series_id == "weekly")).all()
    last = max(offer.depart_earliest for offer in offers)
    assert (len(added), again) == (4, [])
    assert last.astimezone(PARIS).date() == date(2027, 2, 23)
    assert all(o.return_of_id is not None for o in offers if o.origin_commune_insee == CAHORS)


def test_weekly_offers_the_driver_ended_sooner_are_not_extended(session, association, clock):
    weekly_offers(session, association, weeks=3)

    assert series_service.extend_offers(session, clock) == []


def test_the_series_job_runs_through_the_job_runner(db, session, first, clock):
    make_series(session, first)

    outcome = run_job(db, "series", clock)

    assert (outcome.ok, outcome.result) == (
        True,
        "demandes des séries ajoutées : 2 ; offres des conducteurs prolongées : 0",
    )


def test_erasing_the_resident_ends_their_series(session, first, clock):
    series = make_series(session, first)
    residents.erase(session, session.get_one(Resident, first.resident_id), actor="user:1", now=clock.now())

    assert series.state is SeriesState.ENDED
    assert series_service.materialise(session, clock) == []


def test_the_residents_data_export_holds_their_series(session, first):
    make_series(session, first, every_weeks=2)

    data = residents.export(session, session.get_one(Resident, first.resident_id))

    assert [(s["described"], s["state"]) for s in data["appointment_series"]] == [
        ("un mardi sur deux à 10h", "active")
    ]


def test_the_matcher_finds_rides_for_an_occurrence_as_for_any_request(session, association, first, clock):
    make_series(session, first)
    add_offer(session, add_driver(session, association), depart=time(8, 0), day=date(2026, 12, 8))
    session.commit()
    occurrence = session.get_one(Request, series_service.materialise(session, clock)[0])

    options = matching.ride_options(session, occurrence, clock, limit=3)

    assert occurrence.series_day == date(2026, 12, 8)
    assert len(options) == 1
