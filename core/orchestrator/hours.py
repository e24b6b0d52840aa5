"""When a channel may disturb a prospect: quiet hours, the French commercial-SMS rules, and the
allowed sending hours of a channel, all in the prospect's local time.

Each rule answers "is this moment allowed?" and "when is the next allowed moment?"; the
orchestrator holds a message until that moment (the outbox's ``not_before``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo

from core.domain.tenant_settings import QuietHours
from core.holidays import holiday_on

#: French rules on commercial SMS: 08:00–20:00, Monday to Saturday, not on public holidays.
COMMERCIAL_START = time(8, 0)
COMMERCIAL_END = time(20, 0)
_SUNDAY = 6
_SEARCH_DAYS = 14


@cache
def zone(name: str) -> ZoneInfo:
    """A time zone by IANA name (cached: decisions look it up often)."""
    return ZoneInfo(name)


@dataclass(frozen=True, slots=True)
class DailyWindow:
    """A daily window [start, end) of local time; ``start > end`` wraps over midnight."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        """Whether a local time of day falls inside the window."""
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


def in_window(local: datetime, window: DailyWindow) -> bool:
    """Whether ``local`` (an aware local datetime) falls in ``window``."""
    return window.contains(local.time().replace(tzinfo=None))


def end_of_window(local: datetime, window: DailyWindow) -> datetime:
    """The first local moment after ``local`` outside ``window`` (``local`` inside it)."""
    end_today = _at(local.date(), window.end, local.tzinfo)
    if end_today > local:
        return end_today
    return _at(local.date() + timedelta(days=1), window.end, local.tzinfo)


def next_in_allowed(local: datetime, allowed: DailyWindow) -> datetime:
    """The first moment at or after ``local`` inside the ``allowed`` window."""
    if in_window(local, allowed):
        return local
    start_today = _at(local.date(), allowed.start, local.tzinfo)
    if start_today > local:
        return start_today
    return _at(local.date() + timedelta(days=1), allowed.start, local.tzinfo)


def commercial_allowed(local: datetime) -> bool:
    """Whether a commercial SMS may be sent at ``local`` under the French rules."""
    day = local.date()
    if day.weekday() == _SUNDAY or holiday_on("FR", day):
        return False
    return COMMERCIAL_START <= local.time().replace(tzinfo=None) < COMMERCIAL_END


def next_commercial(local: datetime) -> datetime:
    """The first moment at or after ``local`` when a commercial SMS may be sent."""
    if commercial_allowed(local):
        return local
    day = local.date()
    if local.time().replace(tzinfo=None) >= COMMERCIAL_START:
        day += timedelta(days=1)
    for _ in range(_SEARCH_DAYS):
        if day.weekday() != _SUNDAY and not holiday_on("FR", day):
            return _at(day, COMMERCIAL_START, local.tzinfo)
        day += timedelta(days=1)
    raise AssertionError("no allowed day within two weeks")  # pragma: no cover


def _at(day: date, moment: time, tz: tzinfo | None) -> datetime:
    # Through UTC and back so that a wall-clock time in a DST gap still lands on a real instant.
    naive = datetime.combine(day, moment)
    local = naive.replace(tzinfo=tz)
    return local.astimezone(tz)


def quiet_release(
    moment: datetime,
    timezone: str,
    quiet: QuietHours,
    *,
    intrusive: bool,
    urgent: bool,
    commercial_sms: bool,
    allowed: tuple[time | None, time | None] | None = None,
) -> datetime | None:
    """When a send planned for ``moment`` may go out, if the quiet rules hold it; else None.

    Used by the outbox for retries and fallbacks, which the decision did not plan: the same
    rules as ``decide`` (quiet hours for intrusive channels unless urgent may pass; the French
    commercial-SMS preset, which urgency does not lift; the channel's ``allowed`` sending
    hours, start and end, when it has some).
    """
    local = moment.astimezone(zone(timezone))
    release: datetime | None = None
    if intrusive and quiet.enabled and not (urgent and quiet.urgent_may_pass):
        window = DailyWindow(quiet.start, quiet.end)
        if in_window(local, window):
            release = end_of_window(local, window)
    if commercial_sms and quiet.french_commercial_preset and not commercial_allowed(local):
        later = next_commercial(local)
        release = later if release is None or later > release else release
    if allowed is not None and allowed[0] is not None and allowed[1] is not None:
        window = DailyWindow(allowed[0], allowed[1])
        if not in_window(local, window):
            later = next_in_allowed(local, window)
            release = later if release is None or later > release else release
    return release.astimezone(moment.tzinfo) if release is not None else None
