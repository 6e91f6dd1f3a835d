"""Recurring trips in a resident's SMS: "tous les mardis à 10h", "lun mer ven", "un mardi sur deux".

Why separate from ``frdates``: a date answers "when is the trip", a recurrence
answers "which days, how often, until when"; a message may hold both ("tous
les jeudis à partir du 3 décembre jusqu'au 17") and the first must then
follow from the second.

Reads the folded, shorthand-expanded text that ``parse.normalize`` builds.
A weekday alone ("mardi à 10h") is a single trip; it takes a cue to make a
series: "tous les" / "chaque" / a plural ("les mardis") / "par semaine" /
"sur deux" / three weekdays or more in a row. A message that also asks for
one trip ("ce mardi", "lundi prochain") is read as that trip alone.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from carpool.notify.frdates import WEEKDAY_FORMS, find_date, next_weekday

_WD = "|".join(sorted(WEEKDAY_FORMS, key=len, reverse=True))
_WEEKDAY = re.compile(rf"\b(?P<wd>{_WD})(?P<s>s?)\b")
_RANGE = re.compile(rf"\b(?:du|de) (?P<a>{_WD}) (?:au|a) (?P<b>{_WD})\b")
_EVERY_DAY = re.compile(
    r"\b(?:tous|tout|toutes) les jours\b(?P<week> (?:de|en) (?:la )?semaine)?|\b(?P<only>en semaine)\b"
)
_CUE = re.compile(
    rf"\b(?:(?:tous|tout|toutes|chaque|chaques) (?:les |le )?(?:{_WD})|les (?:{_WD})|par semaine|"
    r"chaque semaine|toutes les semaines|tous les (?:15|quinze) jours|sur (?:deux|2)|"
    r"toutes les (?:deux|2) semaines|regulierement|hebdomadaire)\b"
)
# "j'ai dialyse tous les mardis, pouvez-vous m'y conduire ce mardi ?": one trip asked, the series is context.
_ONE_OFF = re.compile(rf"\b(?:ce|cette) (?:{_WD}|semaine)\b|\b(?:{_WD}) prochain\b")
_FORTNIGHT = re.compile(
    r"\b(?:sur (?:deux|2)|tous les (?:15|quinze) jours|toutes les (?:deux|2) semaines|quinzaine)\b"
)
_UNTIL = re.compile(r"\bjusqu (?:au |a |a la |en )?")
_UNTIL_END_OF = re.compile(r"^(?:fin|la fin) (?:de |d )?(?:(?:du )?mois (?:de |d )?)?(?P<mo>[a-z]+)\b")
_FROM = re.compile(r"\b(?:a partir|a compter) (?:du |de |d )?")
_DATE_NUMBER_AFTER = re.compile(r"^ (?:1er|premier|\d{1,2})\b(?! ?h)")


@dataclass(frozen=True, slots=True)
class Recurrence:
    """Weekdays (Monday = 0), every one or two weeks, up to ``until`` (inclusive) if known."""

    weekdays: tuple[int, ...]
    every_weeks: int = 1
    until: date | None = None
    starts: date | None = None  # "à partir du 7 décembre": not printed, sets the first trip

    def first(self, today: date) -> date:
        """The first trip: the earliest listed weekday after ``today`` (and on or after ``starts``)."""
        later = self.starts is not None and self.starts > today
        base = self.starts - timedelta(days=1) if later and self.starts else today
        return min(next_weekday(day, base) for day in self.weekdays)

    def to_dict(self) -> dict[str, Any]:
        return {
            "weekdays": list(self.weekdays),
            "every_weeks": self.every_weeks,
            "until": self.until.isoformat() if self.until else None,
        }


def _date_after(norm: str, cue: re.Pattern[str], today: date) -> tuple[date | None, tuple[int, int] | None]:
    """The date written right after ``cue`` ("jusqu au 17 decembre"), and the span it covers."""
    for found in cue.finditer(norm):
        head = found.end() - found.start()
        window = norm[found.start() : found.end() + 40]
        end_of = _UNTIL_END_OF.match(window[head:])
        if end_of and cue is _UNTIL:
            month = _month(end_of.group("mo"))
            if month is not None:
                year = today.year if month >= today.month else today.year + 1
                last = date(year, month, calendar.monthrange(year, month)[1])
                return last, (found.start(), found.end() + end_of.end())
        day, span = find_date(window, today)
        if day is not None and span is not None and span[0] <= head:
            return day, (found.start(), found.start() + span[1])
    return None, None


def _month(word: str) -> int | None:
    day, _ = find_date(f"1 {word}", date(2000, 1, 1))
    return day.month if day is not None else None


def find_recurrence(norm: str, today: date) -> Recurrence | None:
    """The series the message asks for, or None for a one-off trip (or no trip)."""
    if _ONE_OFF.search(norm):
        return None
    until, until_span = _date_after(norm, _UNTIL, today)
    starts, starts_span = _date_after(norm, _FROM, today)
    skip = [s for s in (until_span, starts_span) if s is not None]
    days: list[int] = []
    plural = False
    for found in _WEEKDAY.finditer(norm):
        if any(a <= found.start() < b for a, b in skip) or _DATE_NUMBER_AFTER.match(norm[found.end() :]):
            continue  # "jusqu'au mardi 22", "lundi 7 décembre": a date, not a day of the series
        days.append(WEEKDAY_FORMS[found.group("wd")])
        plural = plural or bool(found.group("s"))
    for found in _RANGE.finditer(norm):
        first, last = WEEKDAY_FORMS[found.group("a")], WEEKDAY_FORMS[found.group("b")]
        days += list(range(first, last + 1)) if first <= last else []
    every_day = _EVERY_DAY.search(norm)
    if every_day and not days:
        days = list(range(5)) if every_day.group("week") or every_day.group("only") else list(range(7))
    weekdays = tuple(sorted(set(days)))
    if not (_CUE.search(norm) or plural or every_day or len(weekdays) >= 3 or _RANGE.search(norm)):
        return None
    if not weekdays:
        return None  # "une fois par semaine" with no day: the coordinator asks which
    every_weeks = 2 if _FORTNIGHT.search(norm) else 1
    return Recurrence(weekdays, every_weeks, until, starts)
