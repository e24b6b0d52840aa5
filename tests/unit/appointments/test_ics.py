"""iCalendar files read back by a small RFC 5545 reader of our own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from core.booking.ics import CalendarEvent, escape_text, fold, google_calendar_link, to_ics


def unfold(text: str) -> list[str]:
    """Content lines: every line must end with CRLF; a line starting with a space continues."""
    assert text.endswith("\r\n")
    raw = text.split("\r\n")[:-1]
    assert all("\n" not in line and "\r" not in line for line in raw)
    assert all(len(line.encode("utf-8")) <= 75 for line in raw)
    lines: list[str] = []
    for line in raw:
        if line.startswith(" "):
            lines[-1] += line[1:]
        else:
            lines.append(line)
    return lines


def unescape(value: str) -> str:
    out, chars = "", iter(value)
    for char in chars:
        if char == "\\":
            nxt = next(chars)
            out += "\n" if nxt in "nN" else nxt
        else:
            assert char not in ",;", f"unescaped {char!r} in {value!r}"
            out += char
    return out


def split_line(line: str) -> tuple[str, dict[str, str], str]:
    """Name, parameters and value; ``:`` and ``;`` inside double quotes do not count."""
    pieces, current, quoted = [], "", False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        if not quoted and char in ";:":
            pieces.append(current)
            current = ""
            if char == ":":
                value = line[index + 1 :]
                break
        else:
            current += char
    else:
        raise AssertionError(f"no value in {line!r}")
    name, *params = pieces
    return name, dict(p.split("=", 1) for p in params), value


def parse(text: str) -> dict:
    """Components as nested dicts: {"VCALENDAR": [{"props": {...}, "VEVENT": [...]}]}."""
    root: dict = {"props": {}}
    stack = [root]
    for line in unfold(text):
        name, params, value = split_line(line)
        if name == "BEGIN":
            child: dict = {"props": {}}
            stack[-1].setdefault(value, []).append(child)
            stack.append(child)
        elif name == "END":
            stack.pop()
        else:
            stack[-1]["props"][name] = (params, value)
    assert stack == [root], "unbalanced BEGIN/END"
    return root


def local(value: str, zone: str) -> datetime:
    return datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=ZoneInfo(zone))


EVENT = CalendarEvent(
    uid="appointment-7-1@coccinelle.invalid",
    start=datetime(2026, 3, 30, 7, 0, tzinfo=UTC),
    end=datetime(2026, 3, 30, 7, 45, tzinfo=UTC),
    timezone="Europe/Paris",
    summary="Visite, T3; lumineux — Agence Immobilière Demo",
    stamp=datetime(2026, 3, 10, 10, 0, tzinfo=UTC),
    location="12 rue Lepic, 75018 Paris",
    description="Visite avec Alice Martin.\nCode porte: 1234B \\ 2e étage, " + "très " * 30,
    organizer_name="Agence: Demo",
    organizer_email="contact@agence-demo.fr",
    sequence=3,
)


def test_the_file_is_valid_and_round_trips() -> None:
    calendar = parse(to_ics(EVENT))["VCALENDAR"][0]
    assert calendar["props"]["VERSION"][1] == "2.0"
    assert calendar["props"]["PRODID"][1]
    [event] = calendar["VEVENT"]
    props = {k: v for k, v in event["props"].items()}
    assert props["UID"][1] == EVENT.uid
    assert props["DTSTAMP"][1] == "20260310T100000Z"
    assert props["SEQUENCE"][1] == "3"
    assert unescape(props["SUMMARY"][1]) == EVENT.summary
    assert unescape(props["LOCATION"][1]) == EVENT.location
    assert unescape(props["DESCRIPTION"][1]) == EVENT.description
    assert props["ORGANIZER"] == ({"CN": '"Agence: Demo"'}, "mailto:contact@agence-demo.fr")
    assert props["STATUS"][1] == "CONFIRMED"
    params, start = props["DTSTART"]
    assert params == {"TZID": "Europe/Paris"}
    # The Monday after the spring change: 09:00 in Paris is 07:00 UTC.
    assert start == "20260330T090000"
    assert local(start, "Europe/Paris") == EVENT.start
    assert local(props["DTEND"][1], "Europe/Paris") - EVENT.start == timedelta(minutes=45)


def test_the_time_zone_block_describes_paris() -> None:
    calendar = parse(to_ics(EVENT))["VCALENDAR"][0]
    [zone] = calendar["VTIMEZONE"]
    assert zone["props"]["TZID"][1] == "Europe/Paris"
    daylight = {d["props"]["DTSTART"][1]: d["props"] for d in zone["DAYLIGHT"]}
    standard = {s["props"]["DTSTART"][1]: s["props"] for s in zone["STANDARD"]}
    spring, autumn = daylight["20260329T020000"], standard["20261025T030000"]
    assert (spring["TZOFFSETFROM"][1], spring["TZOFFSETTO"][1]) == ("+0100", "+0200")
    assert (autumn["TZOFFSETFROM"][1], autumn["TZOFFSETTO"][1]) == ("+0200", "+0100")
    # An observance starts before the event, so that clients can place it.
    assert min(daylight) < "20260330T090000"


def test_a_zone_without_daylight_saving() -> None:
    event = CalendarEvent(
        uid="x@y",
        start=EVENT.start,
        end=EVENT.end,
        timezone="Asia/Tokyo",
        summary="Call",
        stamp=EVENT.stamp,
    )
    zone = parse(to_ics(event))["VCALENDAR"][0]["VTIMEZONE"][0]
    [standard] = zone["STANDARD"]
    assert standard["props"]["TZOFFSETTO"][1] == "+0900"
    assert "DAYLIGHT" not in zone
    assert "DTSTART;TZID=Asia/Tokyo:20260330T160000" in to_ics(event)


def test_cancelled_events_keep_their_uid() -> None:
    from dataclasses import replace

    text = to_ics(replace(EVENT, cancelled=True, sequence=4))
    props = parse(text)["VCALENDAR"][0]["VEVENT"][0]["props"]
    assert props["STATUS"][1] == "CANCELLED" and props["UID"][1] == EVENT.uid
    assert props["SEQUENCE"][1] == "4"


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a,b", "a\\,b"),
        ("a;b", "a\\;b"),
        ("a\\b", "a\\\\b"),
        ("a\nb", "a\\nb"),
        ("a\r\nb", "a\\nb"),
        ("bell\x07", "bell"),
    ],
)
def test_text_escaping(raw: str, escaped: str) -> None:
    assert escape_text(raw) == escaped


def test_folding_never_splits_a_character() -> None:
    line = "SUMMARY:" + "é" * 100
    folded = fold(line)
    parts = folded.split("\r\n")
    assert all(len(p.encode("utf-8")) <= 75 for p in parts)
    assert parts[0] + "".join(p[1:] for p in parts[1:]) == line
    assert fold("SHORT:x") == "SHORT:x"


def test_google_calendar_link() -> None:
    link = google_calendar_link(EVENT)
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https",
        "calendar.google.com",
        "/calendar/render",
    )
    query = parse_qs(parts.query)
    assert query["action"] == ["TEMPLATE"]
    assert query["dates"] == ["20260330T070000Z/20260330T074500Z"]
    assert query["text"] == [EVENT.summary]
    assert query["location"] == [EVENT.location]
    assert query["ctz"] == ["Europe/Paris"]
