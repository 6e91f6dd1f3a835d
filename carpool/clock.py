"""Time, in one place: UTC inside, Europe/Paris for people, fakeable in tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


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
