"""carpool report tus: the annual report on stdout, a bad year in one line with exit 1."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from support.factories import add_association, add_driver, add_request, add_resident
from test_cli import carpool

from carpool.clock import PARIS
from carpool.models import Match, MatchStatus, Purpose, RequestStatus, TusBasis


def add_completed_trip(session, association, person, at: datetime, *, seats: int = 4) -> None:
    """A medical trip driven for ``person`` at ``at`` by a new driver offering ``seats`` seats."""
    ride = add_request(session, association, resident=person, latest=at + timedelta(hours=1),
                       purpose=Purpose.MEDICAL, status=RequestStatus.DONE)  # fmt: skip
    driver = add_driver(session, association, seats=seats)
    end = at + timedelta(minutes=40)
    session.add(
        Match(
            request_id=ride.id,
            driver_id=driver.id,
            pickup_at=at,
            dropoff_at=end,
            status=MatchStatus.COMPLETED,
        )
    )


def _one_trip(session, association):
    association.founded_on = date(2024, 1, 1)
    person = add_resident(session, association, tus_basis=TusBasis.RURAL, tus_proof_seen_on=date(2025, 1, 2),
                          tus_renew_on=date(2026, 1, 2))  # fmt: skip
    add_completed_trip(session, association, person, datetime(2025, 5, 6, 9, 0, tzinfo=PARIS))
    session.commit()


def test_report_tus_prints_the_years_figures_as_json(database_url, session, association):
    _one_trip(session, association)

    result = carpool(database_url, "report", "tus", "--year", "2025")

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["year"], data["trips"], data["beneficiaries"], data["beneficiaries_by_place"]) == (
        2025,
        1,
        1,
        1,
    )
    assert (data["drivers"], data["volunteer_drivers"], data["vehicles"], data["average_capacity"]) == (
        1,
        1,
        1,
        4.0,
    )


def test_report_tus_as_csv(database_url, session, association):
    _one_trip(session, association)

    result = carpool(database_url, "report", "tus", "--year", "2025", "--format", "csv")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        "indicateur;libelle;valeur\nyear;Année;2025\n"
    )  # text mode: CRLF read as LF


def test_report_tus_refuses_a_year_before_the_association_in_one_line(database_url, session, association):
    _one_trip(session, association)

    result = carpool(database_url, "report", "tus", "--year", "2023")

    assert result.returncode == 1
    assert result.stderr == "erreur : L'association n'existait pas encore en 2023 (première année : 2024).\n"
    assert result.stdout == ""


def test_report_tus_refuses_a_year_that_is_not_a_number(database_url, session, association):
    result = carpool(database_url, "report", "tus", "--year", "l'an dernier")

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "n'est pas un nombre" in result.stderr


def test_report_tus_refuses_a_future_year(database_url, session, association):
    result = carpool(database_url, "report", "tus", "--year", "2999")

    assert result.returncode == 1
    assert "n'a pas encore commencé" in result.stderr


def test_report_tus_asks_which_association_when_there_are_several(database_url, session, association):
    _one_trip(session, association)
    add_association(session, "Argenteuil Solidarité", sms_number=None, phone=None)
    session.commit()

    several = carpool(database_url, "report", "tus", "--year", "2025")
    chosen = carpool(database_url, "report", "tus", "--year", "2025", "--association", "Lot Mobilité")

    assert several.returncode == 1
    assert several.stderr == "erreur : plusieurs associations : précisez --association NOM.\n"
    assert chosen.returncode == 0 and json.loads(chosen.stdout)["trips"] == 1
