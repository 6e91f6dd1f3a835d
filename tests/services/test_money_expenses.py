"""Drivers' expenses: the association's rule (loop or detour), the monthly choice, the receipts.

Hand-computed fixtures on one meridian (0.1° of latitude = 11.1195 km as the crow flies,
× 1.3 by the router): the driver lives at 44.3°, the resident is picked up at 44.4°
and dropped at 44.5°; the drivers' rate is 0.529 €/km (the association's default).

* dedicated trip, loop 44.3 → 44.4 → 44.5 → 44.3 = 0.4° = 57.82 → 57.8 km × 0.529 = 30.58 €;
* seat on the driver's trip 44.3 → 44.4: via the resident 44.3 → 44.4 → 44.5 → 44.4 = 0.3°,
  minus the direct 0.1° = 0.2° = 28.91 → 28.9 km × 0.529 = 15.29 €.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from support.moneykit import book, meridian_driver
from support.moneykit import drive as completed

from carpool.clock import PARIS, FrozenClock
from carpool.errors import InvalidInput
from carpool.models import AuditEvent, ExpenseChoice, Match
from carpool.services import expenses, mileage

NOV = datetime(2026, 11, 25, 9, 0, tzinfo=PARIS)
NOVEMBER = date(2026, 11, 1)


@pytest.fixture
def driver(session, association):
    return meridian_driver(session, association)


def drive(session, association, driver, clock, pickup_at: datetime, *, on_offer: bool = False) -> Match:
    return completed(
        book(session, association, clock, pickup_at, driver=driver, on_offer=on_offer), session, clock
    )


def december(day: int = 1) -> FrozenClock:
    return FrozenClock(datetime(2026, 12, day, 8, 0, tzinfo=PARIS))


def test_a_dedicated_trip_counts_the_whole_loop_from_home(session, association, driver, clock):
    drive(session, association, driver, clock, NOV)

    (trip,) = mileage.statement(session, driver, NOVEMBER).trips

    assert (trip.kind, trip.km, trip.amount) == (mileage.LOOP, Decimal("57.8"), Decimal("30.58"))


def test_a_seat_on_the_drivers_own_trip_counts_the_detour_only(session, association, driver, clock):
    drive(session, association, driver, clock, NOV, on_offer=True)

    (trip,) = mileage.statement(session, driver, NOVEMBER).trips

    assert (trip.kind, trip.km, trip.amount) == (mileage.DETOUR, Decimal("28.9"), Decimal("15.29"))


def test_the_drivers_rate_is_the_associations_setting(session, association, driver, clock):
    association.rate_per_km = Decimal("0.300")
    drive(session, association, driver, clock, NOV)

    assert mileage.statement(session, driver, NOVEMBER).total_amount == Decimal("17.34")  # 57.8 × 0.30


def test_a_month_not_over_cannot_be_chosen_yet(session, association, driver, clock):
    drive(session, association, driver, clock, NOV)

    with pytest.raises(InvalidInput) as refused:
        expenses.choose(
            session, driver, NOVEMBER, "waive", actor="d", clock=FrozenClock(NOV + timedelta(days=2))
        )

    assert "pas terminé" in refused.value.errors[""]


def test_the_choice_fixes_the_months_figures_and_is_audited(session, association, driver, clock):
    drive(session, association, driver, clock, NOV)
    drive(session, association, driver, clock, NOV + timedelta(days=2), on_offer=True)

    row = expenses.choose(session, driver, NOVEMBER, "waive", actor=f"driver:{driver.id}", clock=december())

    assert (row.choice, row.km, row.amount) == (ExpenseChoice.WAIVE, Decimal("86.7"), Decimal("45.87"))
    assert row.trip_days == "2026-11-25,2026-11-27"
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "expenses.chosen")).one()
    assert event.details["choice"] == "waive"


def test_the_driver_may_change_the_choice_until_the_month_is_settled(session, association, driver, clock):
    drive(session, association, driver, clock, NOV)
    row = expenses.choose(session, driver, NOVEMBER, "waive", actor="d", clock=december())
    expenses.choose(session, driver, NOVEMBER, "reimburse", actor="d", clock=december(2))
    expenses.settle(session, row, actor="user:1", clock=december(3))

    with pytest.raises(InvalidInput) as refused:
        expenses.choose(session, driver, NOVEMBER, "waive", actor="d", clock=december(4))

    assert "déjà réglé" in refused.value.errors[""]
    assert row.choice is ExpenseChoice.REIMBURSE


@pytest.mark.parametrize(("choice", "words"), [("gift", "remboursement ou l'abandon"), ("", "remboursement")])
def test_a_bad_choice_is_refused_in_french(session, association, driver, clock, choice, words):
    drive(session, association, driver, clock, NOV)

    with pytest.raises(InvalidInput) as refused:
        expenses.choose(session, driver, NOVEMBER, choice, actor="d", clock=december())

    assert words in refused.value.errors["choice"]


def test_a_month_without_trips_has_nothing_to_choose(session, association, driver):
    with pytest.raises(InvalidInput) as refused:
        expenses.choose(session, driver, NOVEMBER, "waive", actor="d", clock=december())

    assert "Aucun trajet" in refused.value.errors[""]


def test_receipts_sum_each_drivers_waived_months_of_the_year(session, association, driver, clock):
    drive(session, association, driver, clock, NOV)
    drive(session, association, driver, clock, datetime(2026, 10, 6, 9, 0, tzinfo=PARIS), on_offer=True)
    drive(session, association, driver, clock, datetime(2026, 9, 8, 9, 0, tzinfo=PARIS))
    expenses.choose(session, driver, NOVEMBER, "waive", actor="d", clock=december())
    expenses.choose(session, driver, date(2026, 10, 1), "waive", actor="d", clock=december())
    expenses.choose(session, driver, date(2026, 9, 1), "reimburse", actor="d", clock=december())
    association.legal_number = "W461001234"

    data = expenses.receipts(session, association, 2026)
    lines = expenses.receipts_csv(data).splitlines()

    (receipt,) = data.receipts
    assert (receipt.km, receipt.amount) == (Decimal("86.7"), Decimal("45.87"))  # 57.8 + 28.9; 30.58 + 15.29
    assert receipt.days == [date(2026, 10, 6), date(2026, 11, 25)]
    assert data.missing_identity == ["l'adresse", "l'objet"]
    assert lines[1] == "2026;Delmas;Sophie;86,7;45,87;2026-10-06 2026-11-25;Lot Mobilité;W461001234;"
