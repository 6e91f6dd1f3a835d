"""The monthly mileage statement: completed trips, kilometres, amount; page and CSV."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from support.drivers_kit import log_in, text
from support.factories import CAHORS, CAJARC, FIGEAC, WHERE, add_driver_account, add_proposal

from carpool.clock import PARIS
from carpool.matching import haversine_km
from carpool.models import Driver, Match, MatchStatus
from carpool.services import bookings, mileage


def completed(session, association, user, clock, when: datetime) -> Match:
    match = add_proposal(session, association, user, clock, pickup_at=when)
    for status in (MatchStatus.ACCEPTED, MatchStatus.CONFIRMED, MatchStatus.COMPLETED):
        bookings.transition(session, match, status, actor="test", clock=clock)
    session.commit()
    return match


def test_a_volunteer_trip_counts_the_loop_from_home_at_the_association_rate(
    session, association, user, clock
):
    completed(session, association, user, clock, datetime(2026, 11, 25, 9, 0, tzinfo=PARIS))
    completed(session, association, user, clock, datetime(2026, 12, 2, 9, 0, tzinfo=PARIS))  # next month

    statement = mileage.statement(
        session, session.get_one(Driver, user.driver_id), datetime(2026, 11, 1).date()
    )

    loop = (
        haversine_km(WHERE[FIGEAC], WHERE[CAJARC])
        + haversine_km(WHERE[CAJARC], WHERE[CAHORS])
        + haversine_km(WHERE[CAHORS], WHERE[FIGEAC])
    ) * 1.3
    (trip,) = statement.trips
    assert float(trip.km) == pytest.approx(loop, abs=0.06)
    assert trip.amount == (trip.km * Decimal("0.529")).quantize(Decimal("0.01"))
    assert trip.route == "Cajarc → Cahors"
    assert statement.total_km == trip.km


def test_only_completed_trips_count(session, association, user, clock):
    add_proposal(session, association, user, clock, pickup_at=datetime(2026, 11, 25, 9, 0, tzinfo=PARIS))

    statement = mileage.statement(
        session, session.get_one(Driver, user.driver_id), datetime(2026, 11, 1).date()
    )

    assert statement.trips == []


def test_the_statement_page_and_its_csv(client, session, association, user, clock):
    completed(session, association, user, clock, datetime(2026, 11, 25, 9, 0, tzinfo=PARIS))
    log_in(client, user)

    page = client.get("/conducteurs/indemnites?mois=2026-11")
    csv_file = client.get("/conducteurs/indemnites.csv?mois=2026-11")

    assert page.status_code == 200
    assert "Cajarc → Cahors" in text(page)
    assert "novembre 2026" in text(page)
    assert csv_file.mimetype == "text/csv"
    assert "indemnites-2026-11.csv" in csv_file.headers["Content-Disposition"]
    lines = csv_file.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0] == "date;passager;trajet;type;km;indemnite_eur"
    assert lines[1].startswith("2026-11-25;Jeanne;Cajarc → Cahors;trajet bénévole;")
    assert lines[-1].startswith("total;")


def test_a_nonsense_month_shows_the_current_one(client, session, user):
    log_in(client, user)

    page = client.get("/conducteurs/indemnites?mois=2026-13")

    assert page.status_code == 200
    assert "novembre 2026" in text(page)


def test_an_other_drivers_trips_are_not_in_my_statement(client, session, association, user, clock):
    completed(session, association, user, clock, datetime(2026, 11, 25, 9, 0, tzinfo=PARIS))
    other = add_driver_account(session, association, clock, email="marc@example.org", phone="06 39 98 10 02")
    log_in(client, other)

    page = text(client.get("/conducteurs/indemnites?mois=2026-11"))
    csv_text = client.get("/conducteurs/indemnites.csv?mois=2026-11").get_data(as_text=True)

    assert "Jeanne" not in page
    assert "Jeanne" not in csv_text
    assert session.scalar(sa.select(sa.func.count()).select_from(Match)) == 1
