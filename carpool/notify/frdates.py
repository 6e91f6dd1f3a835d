"""French dates and times in SMS: reading them, and writing them for residents.

Why our own parser: general-purpose parsers read "mardi 9h" as 9 March and
know nothing of "dmain" or "2h de l'après-midi". Reading works on *folded*
text (lower case, no accents, punctuation turned to spaces, "09:30" written
"09h30"); ``fold_for_dates`` does that for callers that have raw text.

Rules, all relative to ``today`` (the resident's local date):

* "aujourd'hui", "ce matin", "ce soir" = today; "demain" = +1;
  "après-demain" = +2; "dans 3 jours" = +3; "dans une semaine" = +7.
* A weekday ("mardi", "mardi prochain") is the next such day STRICTLY after
  today: "lundi" sent on a Monday means a week later. "mardi en huit" adds
  a week to that.
* "le 3", "mardi 3": the next 3rd of a month ON OR AFTER today, so "le 3"
  sent on the 3rd means today (people write "le 3" for a near date; a
  month ahead would be written with the month). Months without that day
  are skipped ("le 31" in November means 31 December).
* "3/12", "le 3 décembre", "3 déc": the next 3 December on or after today.
  An explicit year is kept, unless that date is already past (then no date).
* Times: "9h", "9h30", "9 h 30", "09:30", "9 heures et demie", "10h moins le
  quart", "midi", "minuit", "neuf heures", "2h de l'après-midi", "8h du soir".
  An hour from 1 to 5 with no "du matin" is read as the afternoon (13h-17h):
  nobody books a solidarity ride for 3 a.m., but many write "rdv à 3h".
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from unidecode import unidecode

from carpool.clock import PARIS, WEEKDAYS
from carpool.notify.gsm import to_gsm7

MONTH_ABBR = (
    "janv.",
    "févr.",
    "mars",
    "avr.",
    "mai",
    "juin",
    "juil.",
    "août",
    "sept.",
    "oct.",
    "nov.",
    "déc.",
)

# Folded spellings (with common slips) -> weekday index.
_WEEKDAY_FORMS: dict[str, int] = {
    "lundi": 0,
    "lundy": 0,
    "mardi": 1,
    "mecredi": 2,
    "mercredi": 2,
    "mercerdi": 2,
    "mercedi": 2,
    "jeudi": 3,
    "vendredi": 4,
    "vendedi": 4,
    "venredi": 4,
    "vendrdi": 4,
    "samedi": 5,
    "samdi": 5,
    "dimanche": 6,
    "dimache": 6,
    "dimance": 6,
}
WEEKDAY_FORMS = _WEEKDAY_FORMS  # read by ``recurrence`` ("tous les mardis")
_ABBREVIATIONS = ("lun", "mar", "mer", "jeu", "ven", "sam", "dim")
_MONTH_FORMS: dict[str, int] = {
    "janvier": 1,
    "janv": 1,
    "jan": 1,
    "fevrier": 2,
    "fevr": 2,
    "fev": 2,
    "fevier": 2,
    "mars": 3,
    "avril": 4,
    "avr": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "juil": 7,
    "aout": 8,
    "septembre": 9,
    "sept": 9,
    "sep": 9,
    "octobre": 10,
    "oct": 10,
    "novembre": 11,
    "novenbre": 11,
    "nov": 11,
    "decembre": 12,
    "decenbre": 12,
    "dec": 12,
}
_NUMBER_WORDS: dict[str, int] = {
    "un": 1,
    "une": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "six": 6,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
    "dix": 10,
    "onze": 11,
    "douze": 12,
    "treize": 13,
    "quatorze": 14,
    "quinze": 15,
    "seize": 16,
    "dix sept": 17,
    "dix huit": 18,
    "dix neuf": 19,
    "vingt": 20,
    "vingt et une": 21,
    "vingt et un": 21,
    "vingt deux": 22,
    "vingt trois": 23,
}
_MINUTE_WORDS: dict[str, int] = {
    "cinq": 5,
    "dix": 10,
    "quinze": 15,
    "vingt": 20,
    "vingt cinq": 25,
    "trente": 30,
    "trente cinq": 35,
    "quarante": 40,
    "quarante cinq": 45,
    "cinquante": 50,
    "cinquante cinq": 55,
}


def _alternation(words: list[str] | tuple[str, ...] | set[str] | dict[str, int]) -> str:
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


_WD = _alternation(_WEEKDAY_FORMS)
_MO = _alternation(_MONTH_FORMS)
_NUMW = _alternation(_NUMBER_WORDS)
_MINW = _alternation(_MINUTE_WORDS)
_DAYNUM = r"(1er|premier|\d{1,2})"
# What may follow a day number without turning it into a time or a count.
_NOT_TIME = (
    r"(?! ?(?:h\b|h\d|heures?\b|hr?s?\b|/|:|\d|personnes?\b|pers\b|passagers?\b|ans\b|min|km\b|euros?\b))"
)

_FRACTION = (
    r"(?: (?P<frac>et demie?|et quart|moins le quart|moins quart|moins (?:dix|cinq|vingt)|"
    rf"(?P<minw>{_MINW})))?"
)
_PERIOD = (
    r"(?: (?P<period>du matin|du mat|le matin|au matin|de l apres midi|de l aprem|d apres midi|"
    r"apres midi|l apres midi|de l apres|du soir|le soir|ce soir|pm|am))?"
)
_TIME_DIGITS = re.compile(
    r"(?<![\d/])\b(?P<h>\d{1,2}) ?(?:heures?|hrs|hr|h)(?=\d|\b)(?: ?(?P<m>\d{2})\b(?! ?(?:h|heures?)\b))?"
    + _FRACTION
    + _PERIOD
)
_TIME_WORDS = re.compile(rf"\b(?P<hw>{_NUMW}) heures?" + _FRACTION + _PERIOD)
_TIME_NOON = re.compile(
    r"(?<!apres )(?<!l apres )(?<!d apres )(?<!ce )(?<!cet apres )\b(?P<noon>midi|minuit)"
    r"(?: (?P<nm>et demie?|et quart|moins le quart|trente|quinze|\d{2}\b(?! ?(?:h|heures?)\b)))?"
)
# A number of hours that is a duration, not a time of day.
_DURATION_BEFORE = re.compile(r"\b(?:dans|pendant|durant|dure|duree|depuis)\s*$")
# "une heure" is a time only after a word that introduces one ("à une heure").
_ONE_OCLOCK_BEFORE = re.compile(r"\b(?:a|vers|avant|apres|des|pour)\s*$")
_DURATION_AFTER = re.compile(
    r"^ ?(?:de (?:route|trajet|voiture|attente|marche|soins?|examen)|d attente|de plus)"
)


@dataclass(frozen=True, slots=True)
class TimeMention:
    """A time of day found in folded text, with its character span."""

    hour: int
    minute: int
    start: int
    end: int

    @property
    def hhmm(self) -> str:
        return f"{self.hour:02d}:{self.minute:02d}"


def fold_for_dates(text: str) -> str:
    """Lower-case, accent-free, single-spaced text in which "09:30" reads "09h30"."""
    text = unidecode(text).lower()
    text = re.sub(r"(\d)\s*:\s*(\d\d)", r"\1h\2", text)
    text = re.sub(r"[^a-z0-9/]+", " ", text)
    text = re.sub(r"(?<!\d)/|/(?!\d)", " ", text)
    return " ".join(text.split())


def _apply_fraction(minute: int, frac: str | None, minw: str | None) -> tuple[int, int]:
    """Minutes and an hour shift (-1 for "moins le quart") from a fraction phrase."""
    if minw:
        return _MINUTE_WORDS[minw], 0
    if not frac:
        return minute, 0
    if frac.startswith("et demi"):
        return 30, 0
    if frac == "et quart":
        return 15, 0
    less = {"moins le quart": 15, "moins quart": 15, "moins dix": 10, "moins cinq": 5, "moins vingt": 20}
    return 60 - less[frac], -1


def _apply_period(hour: int, period: str | None) -> int:
    """24-hour clock from a 12-hour reading and "du soir"/"du matin" hints."""
    if period is None:
        return hour + 12 if 1 <= hour <= 5 else hour
    if period in ("du matin", "du mat", "le matin", "au matin", "am"):
        return 0 if hour == 12 else hour
    return hour + 12 if hour < 12 else hour


def _is_duration(text: str, start: int, end: int) -> bool:
    before = text[:start]
    if _DURATION_BEFORE.search(before) or _DURATION_AFTER.match(text[end:]):
        return True
    return text.startswith(("une heure", "un heure"), start) and not _ONE_OCLOCK_BEFORE.search(before)


def find_times(text: str) -> list[TimeMention]:
    """Every time of day in folded ``text``, in reading order, durations left out."""
    found: list[TimeMention] = []
    for match in _TIME_DIGITS.finditer(text):
        hour, minute = int(match["h"]), int(match["m"] or 0)
        minute, shift = _apply_fraction(minute, match["frac"], match["minw"])
        found.append(_mention(text, hour + shift, minute, match["period"], match.start(), match.end()))
    for match in _TIME_WORDS.finditer(text):
        hour = _NUMBER_WORDS[match["hw"]]
        minute, shift = _apply_fraction(0, match["frac"], match["minw"])
        found.append(_mention(text, hour + shift, minute, match["period"], match.start(), match.end()))
    for match in _TIME_NOON.finditer(text):
        hour = 12 if match["noon"] == "midi" else 0
        extra = match["nm"] or ""
        minute = {"et demi": 30, "et demie": 30, "et quart": 15, "trente": 30, "quinze": 15}.get(extra, 0)
        if extra.isdigit():
            minute = int(extra)
        if extra == "moins le quart":
            hour, minute = (hour - 1) % 24, 45
        found.append(TimeMention(hour, minute, match.start(), match.end()))
    valid = [
        t
        for t in found
        if 0 <= t.hour <= 23 and 0 <= t.minute <= 59 and not _is_duration(text, t.start, t.end)
    ]
    valid.sort(key=lambda t: t.start)
    kept: list[TimeMention] = []
    for mention in valid:
        if not kept or mention.start >= kept[-1].end:
            kept.append(mention)
    return kept


def _mention(text: str, hour: int, minute: int, period: str | None, start: int, end: int) -> TimeMention:
    if hour == 24 and minute == 0:
        hour = 0
    return TimeMention(_apply_period(hour, period), minute, start, end)


def next_weekday(weekday: int, today: date) -> date:
    """The next ``weekday`` (0 = Monday) strictly after ``today``."""
    return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)


def next_day_of_month(day: int, today: date) -> date | None:
    """The next date whose day is ``day``, on or after ``today``."""
    if not 1 <= day <= 31:
        return None
    year, month = today.year, today.month
    for _ in range(13):
        if day <= calendar.monthrange(year, month)[1]:
            candidate = date(year, month, day)
            if candidate >= today:
                return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def next_month_day(month: int, day: int, today: date, year: int | None = None) -> date | None:
    """``day``/``month`` on or after ``today`` (that year only if ``year`` is given)."""
    if not 1 <= month <= 12 or not 1 <= day <= 31:
        return None
    years = [year] if year is not None else list(range(today.year, today.year + 9))
    for candidate_year in years:
        if day <= calendar.monthrange(candidate_year, month)[1]:
            candidate = date(candidate_year, month, day)
            if candidate >= today:
                return candidate
    return None


def _day_number(token: str) -> int:
    return 1 if token in ("1er", "premier") else int(token)


def _year(token: str | None) -> int | None:
    if not token:
        return None
    value = int(token)
    return value + 2000 if value < 100 else value


_DATE_PATTERNS: list[tuple[int, re.Pattern[str]]] = [
    (0, re.compile(r"(?<![\d/])\b(?P<d>\d{1,2})/(?P<m>\d{1,2})(?:/(?P<y>\d{4}|\d{2}))?\b(?!/)")),
    (0, re.compile(rf"\b{_DAYNUM} (?P<mo>{_MO})\b(?: (?P<y>\d{{4}})\b)?")),
    (1, re.compile(rf"\b(?:{_WD})s? {_DAYNUM}\b{_NOT_TIME}")),
    (2, re.compile(rf"\b(?:le|ce|du|pour le|jusqu au) {_DAYNUM}\b{_NOT_TIME}")),
    (
        3,
        re.compile(
            r"\bdans (?P<n>\d{1,2}|un|une|deux|trois|quatre|cinq|six|huit|quinze) (?P<u>jours?|semaines?)\b"
        ),
    ),
    (4, re.compile(rf"\b(?P<wd>{_WD})s?\b(?P<huit> en huit)?")),
    # "mer 14h", "ven 27": a weekday abbreviation, only when a time or day number follows.
    (
        4,
        re.compile(
            r"\b(?P<wda>lun|mar|mer|merc|jeu|ven|vend|sam|dim)\b(?= (?:\d{1,2}\b|\d{1,2} ?h|a \d|midi))"
        ),
    ),
    (5, re.compile(r"\bapres (?:demain|dmain|2main)\b")),
    (5, re.compile(r"(?<!apres )\b(?:demain|dmain|2main|dem1|demin)\b")),
    (
        5,
        re.compile(
            r"\b(?:aujourd hui|aujourdhui|auj|ajd|aujd|ce matin|ce soir|cet apres midi|ce midi|tantot)\b"
        ),
    ),
]


def _resolve(rank: int, match: re.Match[str], today: date) -> date | None:
    groups = match.groupdict()
    text = match.group(0)
    if rank == 0 and groups.get("m"):
        return next_month_day(int(groups["m"]), int(groups["d"]), today, _year(groups.get("y")))
    if rank == 0:
        return next_month_day(
            _MONTH_FORMS[groups["mo"]], _day_number(match.group(1)), today, _year(groups["y"])
        )
    if rank in (1, 2):
        return next_day_of_month(_day_number(match.group(1)), today)
    if rank == 3:
        raw = groups["n"]
        count = int(raw) if raw.isdigit() else _NUMBER_WORDS[raw]
        return today + timedelta(days=count * (7 if groups["u"].startswith("semaine") else 1))
    if rank == 4 and groups.get("wda"):
        return next_weekday(_ABBREVIATIONS.index(groups["wda"][:3]), today)
    if rank == 4:
        day = next_weekday(_WEEKDAY_FORMS[groups["wd"]], today)
        return day + timedelta(days=7) if groups["huit"] else day
    if text.startswith("apres"):
        return today + timedelta(days=2)
    if text in ("demain", "dmain", "2main", "dem1", "demin"):
        return today + timedelta(days=1)
    return today


def find_date(text: str, today: date) -> tuple[date | None, tuple[int, int] | None]:
    """The trip date in folded ``text`` and its character span (or None, None).

    The most precise form wins (an explicit day and month over "le 3" over
    a weekday over "demain"); among equals, the first one written.
    """
    best: tuple[int, int, date, tuple[int, int]] | None = None
    for rank, pattern in _DATE_PATTERNS:
        for match in pattern.finditer(text):
            try:
                resolved = _resolve(rank, match, today)
            except (OverflowError, ValueError):  # near date.max, or "le 0/13"
                resolved = None
            if resolved is None:
                continue
            key = (rank, match.start())
            if best is None or key < best[:2]:
                best = (rank, match.start(), resolved, match.span())
            break
    if best is None:
        return None, None
    return best[2], best[3]


def parse_date(text: str, today: date) -> date | None:
    """Convenience: the trip date in raw (unfolded) text."""
    return find_date(fold_for_dates(text), today)[0]


def parse_times(text: str) -> list[str]:
    """Convenience: every time in raw text as "HH:MM", in reading order."""
    return [t.hhmm for t in find_times(fold_for_dates(text))]


def format_time(hour: int, minute: int) -> str:
    """ "9h", "9h30", "14h05": how the French write times in a text."""
    return f"{hour}h" if minute == 0 else f"{hour}h{minute:02d}"


def format_day(day: date, *, gsm: bool = False) -> str:
    """ "mardi 24 nov.", "lundi 1er déc."; ``gsm`` gives "aout" for "août"."""
    number = "1er" if day.day == 1 else str(day.day)
    text = f"{WEEKDAYS[day.weekday()]} {number} {MONTH_ABBR[day.month - 1]}"
    return _gsm_safe(text) if gsm else text


def format_when(dt: datetime, *, gsm: bool = False) -> str:
    """ "mardi 24 nov. à 9h30", in Europe/Paris time, for an aware datetime.

    A naive datetime raises ValueError: guessing its zone is how a reminder
    ends up an hour off after a DST change. With ``gsm=True`` the text uses
    only GSM-7 characters ("août" becomes "aout"; "à", "é" are GSM-7).
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("format_when needs an aware datetime")
    local = dt.astimezone(PARIS)
    text = f"{format_day(local.date())} à {format_time(local.hour, local.minute)}"
    return _gsm_safe(text) if gsm else text


def _gsm_safe(text: str) -> str:
    return to_gsm7(text)
