"""The "demain 15h" table: prospects' answers in French and English, and what never books."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from core.booking.parse_when import parse_when

PARIS = ZoneInfo("Europe/Paris")
TUESDAY = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # Tuesday 10 March 2026, 11:00 in Paris
THURSDAY = datetime(2026, 3, 12, 17, 0, tzinfo=UTC)  # Thursday 12 March, 18:00 in Paris


def shown(text: str, now: datetime = TUESDAY) -> str | None:
    when = parse_when(text, now)
    if when is None:
        return None
    start = when.start.astimezone(PARIS).strftime("%a %d/%m %H:%M")
    if when.exact:
        return start
    return f"{start} → {when.end.astimezone(PARIS).strftime('%a %d/%m %H:%M')}"


EXACT = [
    ("demain 15h", "Wed 11/03 15:00"),
    ("Demain à 15h30", "Wed 11/03 15:30"),
    ("DEMAIN A 15H30 !", "Wed 11/03 15:30"),
    ("demain, 15 h 30.", "Wed 11/03 15:30"),
    ("demain 15h et demie", "Wed 11/03 15:30"),
    ("demain vers 16h", "Wed 11/03 16:00"),
    ("demain midi", "Wed 11/03 12:00"),
    ("demain 3h de l'après-midi", "Wed 11/03 15:00"),
    ("demain à 14h de l’après-midi", "Wed 11/03 14:00"),
    ("après-demain 9h", "Thu 12/03 09:00"),
    ("apres demain a 9h", "Thu 12/03 09:00"),
    ("lundi prochain 10h", "Mon 16/03 10:00"),
    ("mardi prochain à 10h", "Tue 17/03 10:00"),
    ("jeudi 9h du matin", "Thu 12/03 09:00"),
    ("le 12 mars à 14h", "Thu 12/03 14:00"),
    ("Le 12 Mars a 14H", "Thu 12/03 14:00"),
    ("jeudi 12 mars 10h", "Thu 12/03 10:00"),
    ("vendredi 13 à 9h30", "Fri 13/03 09:30"),
    ("le 1er avril à 10h", "Wed 01/04 10:00"),
    ("12/03 14h", "Thu 12/03 14:00"),
    ("15/03/2026 à 10h", "Sun 15/03 10:00"),
    ("aujourd'hui 16h", "Tue 10/03 16:00"),
    ("mercredi à 15h, ça me va, merci", "Wed 11/03 15:00"),
    ("tomorrow 3pm", "Wed 11/03 15:00"),
    ("Tomorrow at 3:30 p.m.", "Wed 11/03 15:30"),
    ("friday at 10", "Fri 13/03 10:00"),
    ("on Friday at 10 o'clock", "Fri 13/03 10:00"),
    ("March 12 at 2:30 pm", "Thu 12/03 14:30"),
    ("the 12th at 2pm", "Thu 12/03 14:00"),
    ("1st of April at 10am", "Wed 01/04 10:00"),
    ("day after tomorrow at 9am", "Thu 12/03 09:00"),
    ("tomorrow at noon", "Wed 11/03 12:00"),
]

WINDOWS = [
    ("mardi matin", THURSDAY, "Tue 17/03 08:00 → Tue 17/03 12:00"),
    ("mardi après-midi", THURSDAY, "Tue 17/03 12:00 → Tue 17/03 18:00"),
    ("demain matin", TUESDAY, "Wed 11/03 08:00 → Wed 11/03 12:00"),
    ("jeudi soir", TUESDAY, "Thu 12/03 17:00 → Thu 12/03 21:00"),
    ("cet après-midi", TUESDAY, "Tue 10/03 12:00 → Tue 10/03 18:00"),
    ("next tuesday morning", TUESDAY, "Tue 17/03 08:00 → Tue 17/03 12:00"),
    ("next Tuesday morning", THURSDAY, "Tue 17/03 08:00 → Tue 17/03 12:00"),
    ("tomorrow afternoon", TUESDAY, "Wed 11/03 12:00 → Wed 11/03 18:00"),
    ("mercredi", TUESDAY, "Wed 11/03 00:00 → Thu 12/03 00:00"),
    ("friday", TUESDAY, "Fri 13/03 00:00 → Sat 14/03 00:00"),
]

UNCLEAR = [
    "",
    "oui",
    "je ne sais pas",
    "15h",  # no day
    "pas demain",
    "je ne peux pas demain 15h",
    "demain ou après-demain",
    "mardi ou mercredi 10h",
    "demain 15h ou 16h",
    "demain 3h",  # three in the night or in the afternoon?
    "tomorrow at 3",
    "demain 25h",
    "demain 14h61",
    "31/02 10h",
    "le 8 mars à 10h",  # already past this year, and a year away
    "12/03/2025 14h",
    "hier 15h",
    "aujourd'hui 9h",  # already past
    "today 9am",
    "mardi 10h",  # said on a Tuesday: today or next week?
    "jeudi 11 mars 10h",  # 11 March is a Wednesday
    "demain mardi",
    "demain matin 15h",
    "la semaine prochaine",
    "demain 15",
    "I can't tomorrow, maybe friday",
    "minuit",
    "12.03 14h",
    "03/25 10am",
]


@pytest.mark.parametrize(("text", "expected"), EXACT)
def test_exact_times(text: str, expected: str) -> None:
    assert shown(text) == expected


@pytest.mark.parametrize(("text", "now", "expected"), WINDOWS)
def test_windows(text: str, now: datetime, expected: str) -> None:
    assert shown(text, now) == expected


@pytest.mark.parametrize("text", UNCLEAR)
def test_unclear_answers_give_nothing(text: str) -> None:
    assert shown(text) is None


def test_a_bare_day_is_a_whole_day_window() -> None:
    assert shown("demain") == "Wed 11/03 00:00 → Thu 12/03 00:00"


def test_daylight_saving_days() -> None:
    saturday = datetime(2026, 3, 28, 10, 0, tzinfo=UTC)
    when = parse_when("lundi 9h", saturday)
    assert when is not None and when.start.astimezone(UTC) == datetime(
        2026, 3, 30, 7, 0, tzinfo=UTC
    )
    assert parse_when("demain 2h30 du matin", saturday) is None  # skipped by the change
    night = parse_when("demain 9h", datetime(2026, 10, 24, 10, 0, tzinfo=UTC))
    assert night is not None and night.start.astimezone(UTC).hour == 8


RELATIVE = [
    ("demain 9h", "Wed 11/03 09:00"),
    ("après-demain 14h", "Thu 12/03 14:00"),
    ("the day after tomorrow at 2pm", "Thu 12/03 14:00"),
    ("ce soir 18h", "Tue 10/03 18:00"),
    ("tonight at 6pm", "Tue 10/03 18:00"),
    ("samedi 10h", "Sat 14/03 10:00"),
    ("saturday at 10am", "Sat 14/03 10:00"),
    ("next monday at 9:30", "Mon 16/03 09:30"),
    ("demain 14:15", "Wed 11/03 14:15"),
    ("tomorrow at 14:15", "Wed 11/03 14:15"),
    ("demain après-midi", "Wed 11/03 12:00 → Wed 11/03 18:00"),
    ("tomorrow morning", "Wed 11/03 08:00 → Wed 11/03 12:00"),
    ("next monday", "Mon 16/03 00:00 → Tue 17/03 00:00"),
    ("dans 2 jours à 10h", None),  # counted offsets are left to an agent
    ("in 2 days at 10am", None),
]


@pytest.mark.parametrize(("text", "expected"), RELATIVE)
def test_relative_days_in_french_and_english(text: str, expected: str | None) -> None:
    assert shown(text) == expected


SPRING = datetime(2026, 3, 28, 10, 0, tzinfo=UTC)  # Saturday; clocks go forward on Sunday 2:00
AUTUMN = datetime(2026, 10, 24, 10, 0, tzinfo=UTC)  # Saturday; clocks go back on Sunday 3:00
DST = [
    ("demain 10h", SPRING, datetime(2026, 3, 29, 8, 0, tzinfo=UTC)),
    ("sunday 10am", SPRING, datetime(2026, 3, 29, 8, 0, tzinfo=UTC)),
    ("tomorrow at 3am", SPRING, datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
    ("tomorrow at 2:30am", SPRING, None),  # does not exist that night
    ("lundi 9h", SPRING, datetime(2026, 3, 30, 7, 0, tzinfo=UTC)),
    ("demain 10h", AUTUMN, datetime(2026, 10, 25, 9, 0, tzinfo=UTC)),
    ("tomorrow at 2:30am", AUTUMN, None),  # happens twice that night
    ("tomorrow at 1:30am", AUTUMN, datetime(2026, 10, 24, 23, 30, tzinfo=UTC)),
    ("lundi 9h", AUTUMN, datetime(2026, 10, 26, 8, 0, tzinfo=UTC)),
]


@pytest.mark.parametrize(("text", "now", "expected"), DST)
def test_daylight_saving_change_days(text: str, now: datetime, expected: datetime | None) -> None:
    when = parse_when(text, now)
    assert (when.start if when else None) == expected
    if when is not None:
        assert when.exact and when.start.astimezone(UTC) == expected


def test_a_morning_window_on_a_change_day_is_four_real_hours_in_local_time() -> None:
    spring = parse_when("demain matin", SPRING)
    autumn = parse_when("demain matin", AUTUMN)
    assert spring is not None and autumn is not None
    assert (spring.start.astimezone(UTC).hour, spring.end.astimezone(UTC).hour) == (6, 10)
    assert (autumn.start.astimezone(UTC).hour, autumn.end.astimezone(UTC).hour) == (7, 11)


def test_another_time_zone() -> None:
    when = parse_when("tomorrow 3pm", TUESDAY, "America/New_York")
    assert when is not None
    assert when.start.astimezone(UTC) == datetime(2026, 3, 11, 19, 0, tzinfo=UTC)
