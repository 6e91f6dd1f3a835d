"""Jinja filters every audience's templates use, registered by the app factory.

French dates and times in Paris time, phone numbers as people write them, needs and
purposes in words.
"""

from __future__ import annotations

from datetime import date, datetime, time

from flask import Flask

from carpool import labels
from carpool.clock import MONTHS, PARIS, WEEKDAYS, to_paris
from carpool.models import Purpose
from carpool.text import display_phone, euros, km_text


def jour_filter(moment: datetime | date) -> str:
    """ "mardi 24 novembre 2026" (a moment is read in Paris time)."""
    day = moment.astimezone(PARIS).date() if isinstance(moment, datetime) else moment
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"


def mois_filter(day: date) -> str:
    return f"{MONTHS[day.month - 1]} {day.year}"


def heure_filter(moment: datetime | time) -> str:
    """ "9 h 05" (a moment is read in Paris time)."""
    at = moment.astimezone(PARIS) if isinstance(moment, datetime) else moment
    return f"{at.hour} h {at.minute:02d}"


def iso_day_filter(moment: datetime) -> str:
    return moment.astimezone(PARIS).date().isoformat()


def paris_filter(moment: datetime) -> str:
    return to_paris(moment).strftime("%d/%m/%Y %H:%M")


def needs_label(code: str) -> str:
    return labels.NEEDS.get(code, code)


def purpose_label(purpose: Purpose) -> str:
    return labels.PURPOSES.get(purpose, purpose.value)


FILTERS = {
    "jour": jour_filter,
    "mois": mois_filter,
    "heure": heure_filter,
    "iso_day": iso_day_filter,
    "paris": paris_filter,
    "tel": display_phone,
    "euros": euros,
    "km": km_text,
    "needs_label": needs_label,
    "purpose_label": purpose_label,
}


def register_filters(app: Flask) -> None:
    app.jinja_env.filters.update(FILTERS)
