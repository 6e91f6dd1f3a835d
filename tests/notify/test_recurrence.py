"""Recurring trips read from an SMS: weekdays, every one or two weeks, until when (issue 16)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from carpool.notify.parse import parse_message
from carpool.notify.recurrence import Recurrence, find_recurrence

MONDAY = date(2026, 11, 23)


def parse(text: str, today: date = MONDAY) -> dict[str, Any]:
    return parse_message(text, today).to_dict()


def test_every_friday_is_a_weekly_series_starting_this_friday() -> None:
    result = parse("tous les vendredis à 9h kiné à Cahors")
    assert result["intent"] == "request"
    assert result["recurrence"] == {"weekdays": [4], "every_weeks": 1, "until": None}
    assert result["date"] == "2026-11-27"


def test_three_weekdays_in_a_row_make_a_series_whose_first_trip_is_the_nearest() -> None:
    result = parse("mardi jeudi samedi 7h dialyse Figeac")
    assert result["recurrence"] == {"weekdays": [1, 3, 5], "every_weeks": 1, "until": None}
    assert result["date"] == "2026-11-24"


@pytest.mark.parametrize(
    "text",
    [
        "une semaine sur deux le lundi rdv kiné Gramat 11h",
        "tous les quinze jours le lundi, rdv à Gramat à 11h",
        "un lundi sur 2 Gramat 11h",
    ],
)
def test_every_other_week(text: str) -> None:
    assert parse(text)["recurrence"] == {"weekdays": [0], "every_weeks": 2, "until": None}


def test_until_a_date_is_the_end_of_the_series_not_the_trip_date() -> None:
    result = parse("chaque jeudi à 10h séance à Souillac jusqu'au 15 janvier")
    assert result["recurrence"] == {"weekdays": [3], "every_weeks": 1, "until": "2027-01-15"}
    assert result["date"] == "2026-11-26"


def test_until_the_end_of_a_month() -> None:
    assert parse("les mercredis 14h Figeac jusqu'à fin décembre")["recurrence"]["until"] == "2026-12-31"


def test_a_start_date_moves_the_first_trip() -> None:
    result = parse("tous les mardis à 10h kiné Cahors à partir du 8 décembre")
    assert result["recurrence"]["weekdays"] == [1]
    assert result["date"] == "2026-12-08"


def test_monday_to_friday() -> None:
    assert find_recurrence("du lundi au vendredi radiotherapie a cahors 9h", MONDAY) == Recurrence(
        (0, 1, 2, 3, 4)
    )


@pytest.mark.parametrize(
    "text",
    [
        "rdv mardi 10h Cahors",
        "mardi et jeudi rdv à Cahors 10h",
        "je voudrais aller à Gourdon lundi ou mardi",
        "rdv le mardi 1er décembre à Figeac",
        # The series is context, the question is about one trip.
        "J'ai ma séance de kiné tous les jeudis à Figeac, pouvez-vous m'y emmener ce jeudi à 15h ?",
    ],
)
def test_one_off_trips_have_no_recurrence(text: str) -> None:
    assert parse(text)["recurrence"] is None


def test_answers_have_no_recurrence() -> None:
    assert parse("oui merci")["recurrence"] is None


def test_a_series_without_days_is_not_guessed() -> None:
    assert parse("une fois par semaine à Cahors à 10h")["recurrence"] is None


def test_first_trip_is_after_today_when_today_is_a_listed_day() -> None:
    assert Recurrence((0, 3)).first(MONDAY) == date(2026, 11, 26)
