"""A period of time for statistics: [start, end), in UTC."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from core.errors import InvalidInput


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of ``day``."""
    return datetime.combine(day, time(0), tzinfo=UTC)


@dataclass(frozen=True)
class Period:
    """From ``start`` (included) to ``end`` (excluded), both time-zone aware."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise InvalidInput("period", f"{self.start} – {self.end}", "times with a time zone")
        if self.end <= self.start:
            raise InvalidInput("period", f"{self.start} – {self.end}", "an end after the start")

    @classmethod
    def last_days(cls, days: int, now: datetime) -> Period:
        """The ``days`` whole UTC days up to and including today."""
        end = day_start(now.astimezone(UTC).date()) + timedelta(days=1)
        return cls(end - timedelta(days=days), end)

    def days(self) -> Iterator[date]:
        """Every UTC day the period touches."""
        day = self.start.astimezone(UTC).date()
        while day_start(day) < self.end:
            yield day
            day += timedelta(days=1)

    def whole_days(self) -> list[date]:
        """The UTC days lying entirely inside the period."""
        return [
            d
            for d in self.days()
            if day_start(d) >= self.start and day_start(d + timedelta(days=1)) <= self.end
        ]
