"""The Jinja filters: French words, Paris time, registered by the app factory for every template."""

from __future__ import annotations

from datetime import UTC, date, datetime

from carpool.models import Purpose
from carpool.web import filters


def test_the_app_factory_registers_every_filter(app):
    assert filters.FILTERS.items() <= app.jinja_env.filters.items()


def test_a_moment_reads_as_a_french_day_and_hour_in_paris():
    summer = datetime(2026, 7, 14, 7, 5, tzinfo=UTC)
    assert (filters.jour_filter(summer), filters.heure_filter(summer)) == ("mardi 14 juillet 2026", "9 h 05")


def test_a_month_is_named_in_french():
    assert filters.mois_filter(date(2026, 8, 1)) == "août 2026"


def test_needs_and_purposes_read_as_words():
    assert filters.needs_label("boarding_help") == "aide pour monter en voiture"
    assert filters.purpose_label(Purpose.ADMINISTRATION) == "démarches administratives"
