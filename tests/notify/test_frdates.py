"""French date and time reading and writing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carpool.notify.frdates import (
    format_day,
    format_time,
    format_when,
    next_day_of_month,
    next_weekday,
    parse_date,
    parse_times,
)
from carpool.notify.gsm import is_gsm7

MONDAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("aujourd'hui", MONDAY),
        ("auj", MONDAY),
        ("demain", date(2026, 11, 24)),
        ("dmain matin", date(2026, 11, 24)),
        ("après-demain", date(2026, 11, 25)),
        ("apres demain", date(2026, 11, 25)),
        ("mardi 9h", date(2026, 11, 24)),  # not 9 March
        ("lundi", date(2026, 11, 30)),  # strictly after today
        ("dimanche", date(2026, 11, 29)),
        ("mardi en huit", date(2026, 12, 1)),
        ("le 3", date(2026, 12, 3)),
        ("le 23", MONDAY),  # today counts
        ("le 22", date(2026, 12, 22)),
        ("le 31", date(2026, 12, 31)),  # November has no 31st
        ("le 1er", date(2026, 12, 1)),
        ("3/12", date(2026, 12, 3)),
        ("03/12/2026", date(2026, 12, 3)),
        ("3/12/26", date(2026, 12, 3)),
        ("20/11", date(2027, 11, 20)),  # already past this year
        ("le 3 décembre", date(2026, 12, 3)),
        ("3 déc", date(2026, 12, 3)),
        ("1er janvier", date(2027, 1, 1)),
        ("le 23 novembre", MONDAY),
        ("29/02", date(2028, 2, 29)),
        ("dans 3 jours", date(2026, 11, 26)),
        ("dans une semaine", date(2026, 11, 30)),
        ("vendredi 27", date(2026, 11, 27)),
        ("jeudi 26/11", date(2026, 11, 26)),
        ("mercredi 25 novembre", date(2026, 11, 25)),
        ("le 3 pour 10h", date(2026, 12, 3)),
        ("mardi 10h", date(2026, 11, 24)),
        ("mer 14h30", date(2026, 11, 25)),  # abbreviated weekday before a time
        ("ven 27", date(2026, 11, 27)),
        ("la mer", None),
        ("rien du tout", None),
        ("le 3/12/2025", None),  # an explicit past date is no trip date
        ("31/11", None),
        ("tél 06 12 34 56 78", None),
        ("nous sommes 2", None),
    ],
)
def test_parse_date(text: str, expected: date | None) -> None:
    assert parse_date(text, MONDAY) == expected


def test_day_of_month_on_that_day_means_today() -> None:
    assert parse_date("rdv le 3", date(2026, 12, 3)) == date(2026, 12, 3)
    assert parse_date("rdv le 3", date(2026, 12, 4)) == date(2027, 1, 3)


def test_year_rollover() -> None:
    new_year_eve = date(2026, 12, 31)
    assert parse_date("le 2 janvier", new_year_eve) == date(2027, 1, 2)
    assert parse_date("mardi", new_year_eve) == date(2027, 1, 5)
    assert parse_date("demain", new_year_eve) == date(2027, 1, 1)
    assert parse_date("le 29", date(2027, 2, 28)) == date(2027, 3, 29)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9h", ["09:00"]),
        ("9h30", ["09:30"]),
        ("9 h 30", ["09:30"]),
        ("09:30", ["09:30"]),
        ("9H30", ["09:30"]),
        ("midi", ["12:00"]),
        ("minuit", ["00:00"]),
        ("midi et demi", ["12:30"]),
        ("2h de l'après-midi", ["14:00"]),
        ("8h du soir", ["20:00"]),
        ("neuf heures", ["09:00"]),
        ("dix heures trente", ["10:30"]),
        ("deux heures de l'après-midi", ["14:00"]),
        ("10h du matin", ["10:00"]),
        ("18h", ["18:00"]),
        ("vers 9h", ["09:00"]),
        ("9 heures et demie", ["09:30"]),
        ("10h et quart", ["10:15"]),
        ("11h moins le quart", ["10:45"]),
        ("rdv à 3h", ["15:00"]),  # 1h-5h without "du matin" is the afternoon
        ("5h du matin", ["05:00"]),
        ("à une heure", ["13:00"]),
        ("départ 9h retour 16h", ["09:00", "16:00"]),
        ("l'après-midi", []),
        ("dans 2h", []),
        ("1h30 de route", []),
        ("pendant une heure", []),
        ("25h", []),
        ("9h75", []),  # not a time: dropped rather than guessed
    ],
)
def test_parse_times(text: str, expected: list[str]) -> None:
    assert parse_times(text) == expected


def test_next_weekday_is_strictly_after() -> None:
    for offset in range(7):
        day = MONDAY + timedelta(days=offset)
        for weekday in range(7):
            result = next_weekday(weekday, day)
            assert result.weekday() == weekday
            assert 1 <= (result - day).days <= 7


@settings(max_examples=150, deadline=None)
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(1, 31))
def test_next_day_of_month_property(today: date, day: int) -> None:
    result = next_day_of_month(day, today)
    assert result is not None and result.day == day and result >= today
    assert (result - today).days < 93


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 11, 24, 8, 30, tzinfo=UTC), "mardi 24 nov. à 9h30"),
        (datetime(2026, 11, 24, 9, 0, tzinfo=UTC), "mardi 24 nov. à 10h"),
        (datetime(2026, 12, 1, 13, 5, tzinfo=UTC), "mardi 1er déc. à 14h05"),
        # Spring forward, Sunday 29 March 2026: CET (+1) until 01:00 UTC, then CEST (+2).
        (datetime(2026, 3, 28, 8, 0, tzinfo=UTC), "samedi 28 mars à 9h"),
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), "dimanche 29 mars à 1h30"),
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "dimanche 29 mars à 3h30"),
        (datetime(2026, 3, 29, 7, 0, tzinfo=UTC), "dimanche 29 mars à 9h"),
        # Fall back, Sunday 25 October 2026.
        (datetime(2026, 10, 24, 7, 0, tzinfo=UTC), "samedi 24 oct. à 9h"),
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "dimanche 25 oct. à 2h30"),
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "dimanche 25 oct. à 2h30"),
        (datetime(2026, 10, 25, 8, 0, tzinfo=UTC), "dimanche 25 oct. à 9h"),
        (datetime(2026, 2, 2, 9, 0, tzinfo=timezone(timedelta(hours=-5))), "lundi 2 févr. à 15h"),
        (datetime(2026, 8, 4, 8, 0, tzinfo=UTC), "mardi 4 août à 10h"),
        (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "vendredi 1er janv. à 0h30"),
    ],
)
def test_format_when(moment: datetime, expected: str) -> None:
    assert format_when(moment) == expected


def test_format_when_gsm_variant() -> None:
    text = format_when(datetime(2026, 8, 4, 8, 0, tzinfo=UTC), gsm=True)
    assert text == "mardi 4 aout à 10h"
    assert is_gsm7(text)
    assert format_when(datetime(2026, 2, 2, 8, 0, tzinfo=UTC), gsm=True) == "lundi 2 févr. à 9h"


def test_format_when_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="aware"):
        format_when(datetime(2026, 11, 24, 9, 0))


@settings(max_examples=150, deadline=None)
@given(st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2099, 12, 30), timezones=st.just(UTC)))
def test_format_when_is_always_gsm_when_asked(moment: datetime) -> None:
    assert is_gsm7(format_when(moment, gsm=True))


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 364), st.integers(0, 23), st.integers(0, 59))
def test_what_we_write_we_read_back(offset: int, hour: int, minute: int) -> None:
    day = MONDAY + timedelta(days=offset)
    assert parse_date(format_day(day), MONDAY) == day
    if not 1 <= hour <= 5:  # we never write those: a ride is not booked at 3 a.m.
        assert parse_times(format_time(hour, minute)) == [f"{hour:02d}:{minute:02d}"]
