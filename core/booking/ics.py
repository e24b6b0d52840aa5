"""iCalendar (RFC 5545) files for appointments, and the "add to calendar" link.

Written by hand, with what calendar clients check: CRLF line endings, lines folded at 75 octets
(never inside a UTF-8 character), TEXT values escaped, local times with a TZID and the
VTIMEZONE that defines it (built from the zone database, so any zone works).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

PRODID = "-//Coccinelle Inbox//Appointments//EN"
GOOGLE_CALENDAR = "https://calendar.google.com/calendar/render"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class CalendarEvent:
    """One appointment as calendars see it; ``start``/``end`` are aware datetimes."""

    uid: str
    start: datetime
    end: datetime
    timezone: str
    summary: str
    stamp: datetime
    location: str | None = None
    description: str | None = None
    organizer_name: str | None = None
    organizer_email: str | None = None
    #: Grows with every change, so that clients replace the older version (same ``uid``).
    sequence: int = 0
    cancelled: bool = False


def to_ics(event: CalendarEvent) -> str:
    """The event as an iCalendar file (a ``str`` with CRLF line endings)."""
    zone = ZoneInfo(event.timezone)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        *vtimezone(event.timezone, event.start.astimezone(zone).year),
        "BEGIN:VEVENT",
        f"UID:{_clean(event.uid)}",
        f"DTSTAMP:{_utc(event.stamp)}",
        f"SEQUENCE:{max(0, event.sequence)}",
        f"DTSTART;TZID={event.timezone}:{_local(event.start, zone)}",
        f"DTEND;TZID={event.timezone}:{_local(event.end, zone)}",
        f"SUMMARY:{escape_text(event.summary)}",
    ]
    if event.location:
        lines.append(f"LOCATION:{escape_text(event.location)}")
    if event.description:
        lines.append(f"DESCRIPTION:{escape_text(event.description)}")
    if event.organizer_email:
        name = f";CN={param_value(event.organizer_name)}" if event.organizer_name else ""
        lines.append(f"ORGANIZER{name}:mailto:{_clean(event.organizer_email)}")
    lines += [f"STATUS:{'CANCELLED' if event.cancelled else 'CONFIRMED'}", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)


def google_calendar_link(event: CalendarEvent) -> str:
    """A Google Calendar "add event" link prefilled with the event."""
    params = {
        "action": "TEMPLATE",
        "text": event.summary,
        "dates": f"{_utc(event.start)}/{_utc(event.end)}",
        "ctz": event.timezone,
        "details": event.description or "",
        "location": event.location or "",
    }
    return f"{GOOGLE_CALENDAR}?{urlencode(params, quote_via=quote, safe='/')}"


def escape_text(value: str) -> str:
    r"""A TEXT value: ``\``, ``;``, ``,`` escaped, newlines as ``\n``, control characters gone."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _CONTROL.sub("", value)
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\n", "\\n")


def param_value(value: str | None) -> str:
    """A parameter value (``CN=…``): quoted when it holds ``:;,``; double quotes cannot be."""
    clean = _CONTROL.sub("", (value or "").replace('"', "'").replace("\n", " "))
    return f'"{clean}"' if any(c in clean for c in ":;,") else clean


def fold(line: str) -> str:
    """Fold a content line at 75 octets; continuation lines start with one space."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    parts: list[str] = []
    current, size, limit = "", 0, 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            current, size, limit = "", 0, 74
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)


def vtimezone(name: str, year: int) -> list[str]:
    """A VTIMEZONE for ``name`` with its real changes from the year before to the year after."""
    zone = ZoneInfo(name)
    start = datetime(year - 1, 1, 1, tzinfo=UTC)
    changes = _transitions(zone, start, datetime(year + 2, 1, 1, tzinfo=UTC))
    lines = ["BEGIN:VTIMEZONE", f"TZID:{name}"]
    if not changes:
        local = start.astimezone(zone)
        offset = local.utcoffset() or timedelta(0)
        lines += _observance("STANDARD", "19700101T000000", offset, offset, local.tzname())
    for moment, before, after in changes:
        kind = "DAYLIGHT" if after.dst() else "STANDARD"
        wall = (moment + (before.utcoffset() or timedelta(0))).strftime("%Y%m%dT%H%M%S")
        lines += _observance(kind, wall, before.utcoffset(), after.utcoffset(), after.tzname())
    lines.append("END:VTIMEZONE")
    return lines


def _observance(
    kind: str, wall: str, before: timedelta | None, after: timedelta | None, name: str | None
) -> list[str]:
    lines = [
        f"BEGIN:{kind}",
        f"DTSTART:{wall}",
        f"TZOFFSETFROM:{_offset(before)}",
        f"TZOFFSETTO:{_offset(after)}",
    ]
    if name:
        lines.append(f"TZNAME:{escape_text(name)}")
    return [*lines, f"END:{kind}"]


def _transitions(
    zone: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, datetime]]:
    """(UTC instant, local just before, local at) of every offset change in [start, end)."""
    found = []
    day = timedelta(days=1)
    moment = start
    while moment < end:
        nxt = moment + day
        if moment.astimezone(zone).utcoffset() != nxt.astimezone(zone).utcoffset():
            low, high = moment, nxt
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
                    low = middle
                else:
                    high = middle
            high = high.replace(second=0, microsecond=0)
            found.append(
                (high, (high - timedelta(minutes=1)).astimezone(zone), high.astimezone(zone))
            )
        moment = nxt
    return found


def _offset(value: timedelta | None) -> str:
    seconds = int((value or timedelta(0)).total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{secs:02d}" if secs else "")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y%m%dT%H%M%S")


def _clean(value: str) -> str:
    return _CONTROL.sub("", value).replace("\n", "").replace("\r", "")
