"""A driver chooses, per month once it is over, reimbursement or waiver; page, CSRF, API."""

from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa
from support.drivers_kit import count, log_in, one, text
from support.moneykit import HOME, book, drive

from carpool.clock import PARIS
from carpool.db import point
from carpool.models import Driver, ExpenseChoice, MonthlyExpenses
from carpool.services import accounts, expenses

OCT = datetime(2026, 10, 14, 9, 0, tzinfo=PARIS)


@pytest.fixture
def october(session, association, user, clock):
    """The driver (at home on the kit's meridian) drove a dedicated trip on 14 October."""
    driver = session.get_one(Driver, user.driver_id)
    driver.home_point = point(*HOME)
    drive(book(session, association, clock, OCT, driver=driver), session, clock)
    session.commit()
    return driver


def test_a_finished_month_offers_the_choice(driver_client, october):
    page = text(driver_client.get("/conducteurs/indemnites?mois=2026-10"))

    assert "le remboursement de 30,58 €" in page  # 57.8 km × 0.529
    assert "57,8" in page and "de chez vous à chez vous" in page


def test_the_driver_waives_the_month(driver_client, session, october):
    response = driver_client.post(
        "/conducteurs/indemnites/choix", data={"mois": "2026-10", "choice": "waive"}, follow_redirects=True
    )

    assert "Votre choix pour 10/2026 est enregistré : abandon (don)." in text(response)
    row = one(session, sa.select(MonthlyExpenses))
    assert (row.choice, str(row.amount)) == (ExpenseChoice.WAIVE, "30.58")


def test_the_current_month_cannot_be_chosen_yet(driver_client, session, association, clock, october):
    drive(
        book(session, association, clock, datetime(2026, 11, 3, 9, 0, tzinfo=PARIS), driver=october),
        session,
        clock,
    )
    session.commit()

    page = text(driver_client.get("/conducteurs/indemnites?mois=2026-11"))
    refused = driver_client.post(
        "/conducteurs/indemnites/choix", data={"mois": "2026-11", "choice": "waive"}, follow_redirects=True
    )

    assert "une fois le mois terminé" in page
    assert "Le mois n'est pas terminé" in text(refused)
    assert count(session, MonthlyExpenses) == 0


def test_the_choice_needs_the_forms_token(client, session, user, october):
    log_in(client, user)

    response = client.post("/conducteurs/indemnites/choix", data={"mois": "2026-10", "choice": "waive"})

    assert response.status_code == 400
    assert count(session, MonthlyExpenses) == 0


def test_the_api_statement_says_the_choice(client, session, user, clock, october):
    _token, secret = accounts.create_api_token(session, user, "tests", clock)
    session.commit()
    auth = {"Authorization": f"Bearer {secret}"}
    before = client.get("/api/v1/mileage?month=2026-10", headers=auth).get_json()
    expenses.choose(session, october, OCT.date(), "reimburse", actor="test", clock=clock)
    session.commit()

    after = client.get("/api/v1/mileage?month=2026-10", headers=auth).get_json()

    assert (before["total_km"], before["total_amount"], before["choice"]) == ("57.8", "30.58", None)
    assert before["trips"][0]["amount"] == "30.58"
    assert (after["choice"], after["settled"]) == ("reimburse", False)
