"""Time, in one place: UTC inside, Europe/Paris for people, fakeable in tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from carpool.config import Settings

PARIS = ZoneInfo("Europe/Paris")
#: Month names as French people write them (pages, exports).
MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


#: The days a person may ask about (statements, run sheets, filters). Anything outside is a
#: typo, and near the ends of ``date`` month ends and conversions to UTC overflow (a 500).
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def plausible_day(day: date) -> bool:
    return EARLIEST_DAY <= day <= LATEST_DAY


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_paris(moment: datetime) -> datetime:
    """Local time for display; refuses naive datetimes, which have no meaning here."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(PARIS)


class Clock:
    """The real clock. Services take a Clock so tests can move time by hand."""

    def now(self) -> datetime:
        return utcnow()


@dataclass
class FrozenClock(Clock):
    """A clock that only moves when told to."""

    current: datetime = field(default_factory=utcnow)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


class FileClock(Clock):
    """Simulated time read from a file (one ISO datetime), so test processes share one fake "now".

    The kill test moves a week of time through a scheduler process in seconds by
    rewriting the file; the file is read at every call, so the process needs no
    restart. Never set in production.
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def now(self) -> datetime:
        with open(self.path, encoding="utf-8") as handle:
            moment = datetime.fromisoformat(handle.read().strip())
        if moment.tzinfo is None:
            raise ValueError(f"{self.path}: naive datetime")
        return moment.astimezone(UTC)


def clock_for(settings: Settings) -> Clock:
    """The real clock, or a FileClock when ``CARPOOL_CLOCK_FILE`` names a file (tests only)."""
    path = settings.carpool_clock_file
    return FileClock(path) if path else Clock()


def parse_month(text: str | None, default: date) -> date:
    """The first day of "AAAA-MM" from a query string; ``default``'s month when absent or absurd."""
    try:
        wanted = datetime.strptime(text or "", "%Y-%m").date()
    except ValueError:
        return default.replace(day=1)
    return wanted if plausible_day(wanted) else default.replace(day=1)
