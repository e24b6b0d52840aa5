"""Free slots and the checks behind a booking: hours, buffers, holidays, daylight saving."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.booking.slots import Busy, Calendar, check_slot, free_slots
from core.domain.availability import BookingSettings, TimeRange, WeeklyHours
from core.domain.tenant_settings import TenantSettings
from core.holidays import easter_sunday, public_holidays

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # Tuesday, 11:00 in Paris


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS).astimezone(UTC)


def wall(slots) -> list[str]:
    return [s.start.astimezone(PARIS).strftime("%a %d %H:%M") for s in slots]


@pytest.fixture
def calendar() -> Calendar:
    return Calendar(BookingSettings(horizon_days=366))


def visit(calendar: Calendar):
    return calendar.booking.type_of("visit")


def test_defaults_match_the_agency_hours_and_types() -> None:
    booking = TenantSettings().booking
    assert [(p.start, p.end) for p in booking.hours_of(7).on(0)] == [
        (time(9), time(12, 30)),
        (time(14), time(19)),
    ]
    assert [(p.start, p.end) for p in booking.hours_of(7).on(5)] == [(time(10), time(17))]
    assert booking.hours_of(7).on(6) == []
    minutes = {t.key: (t.minutes, t.buffer_minutes) for t in booking.types}
    assert minutes["visit"] == (45, 15)
    assert minutes["valuation"] == (60, 15)
    assert minutes["signing"] == (90, 30)
    assert minutes["call"] == (15, 5)


def test_bad_hours_are_refused() -> None:
    with pytest.raises(ValueError, match="end after"):
        TimeRange(start="12:00", end="09:00")
    with pytest.raises(ValueError, match="overlap"):
        WeeklyHours(
            mon=[TimeRange(start="09:00", end="12:00"), TimeRange(start="11:00", end="13:00")]
        )
    with pytest.raises(ValueError, match="different keys"):
        BookingSettings(types=[{"key": "visit", "minutes": 30}, {"key": "visit", "minutes": 45}])


def test_first_slots_respect_notice_and_working_periods(calendar) -> None:
    slots = free_slots(calendar, visit(calendar), [1], [], NOW, count=4)
    # 12:00 would end at 12:45, after the morning period; the afternoon starts at 14:00.
    assert wall(slots) == ["Tue 10 14:00", "Tue 10 14:30", "Tue 10 15:00", "Tue 10 15:30"]
    assert all(s.end - s.start == timedelta(minutes=45) and s.agent_id == 1 for s in slots)


def test_a_day_s_last_slot_ends_by_closing_time(calendar) -> None:
    slots = free_slots(calendar, visit(calendar), [1], [], NOW, after=paris(2026, 3, 10, 17, 0))
    assert wall(slots)[:3] == ["Tue 10 17:00", "Tue 10 17:30", "Tue 10 18:00"]
    assert wall(slots)[3] == "Wed 11 09:00"  # 18:30 + 45 min would end after 19:00


def test_buffers_after_existing_appointments_and_after_the_new_one(calendar) -> None:
    busy = [
        Busy(1, paris(2026, 3, 10, 14, 0), paris(2026, 3, 10, 15, 0)),  # visit + 15 min
        Busy(1, paris(2026, 3, 10, 16, 0), paris(2026, 3, 10, 17, 0)),
    ]
    slots = free_slots(calendar, visit(calendar), [1], busy, NOW, count=3)
    # 15:00 ends 15:45, its buffer ends 16:00: fits. 15:30 would run into 16:00.
    assert wall(slots) == ["Tue 10 15:00", "Tue 10 17:00", "Tue 10 17:30"]


def test_any_agent_offers_each_time_once_with_a_free_agent(calendar) -> None:
    busy = [Busy(1, paris(2026, 3, 10, 14, 0), paris(2026, 3, 10, 15, 0))]
    slots = free_slots(calendar, visit(calendar), [1, 2], busy, NOW, count=3)
    assert [(w, s.agent_id) for w, s in zip(wall(slots), slots, strict=True)] == [
        ("Tue 10 14:00", 2),
        ("Tue 10 14:30", 2),
        ("Tue 10 15:00", 1),
    ]


def test_any_agent_spreads_the_offer_towards_the_lighter_diary(calendar) -> None:
    """Agent 1 already has two visits that day: agent 2 is offered first, then they alternate."""
    busy = [
        Busy(1, paris(2026, 3, 10, 9, 0), paris(2026, 3, 10, 10, 0)),
        Busy(1, paris(2026, 3, 10, 10, 0), paris(2026, 3, 10, 11, 0)),
    ]
    slots = free_slots(calendar, visit(calendar), [1, 2], busy, NOW, count=5)
    assert [s.agent_id for s in slots] == [2, 2, 1, 2, 1]


def test_agents_own_hours() -> None:
    saturday_only = WeeklyHours(
        mon=[], tue=[], wed=[], thu=[], fri=[], sat=[TimeRange(start="10:00", end="12:00")]
    )
    calendar = Calendar(BookingSettings(agent_hours={2: saturday_only}))
    slots = free_slots(calendar, calendar.booking.type_of("call"), [2], [], NOW, count=5)
    saturday = ["Sat 14 10:00", "Sat 14 10:30", "Sat 14 11:00", "Sat 14 11:30"]
    assert wall(slots) == [*saturday, "Sat 21 10:00"]


def test_public_holidays_are_skipped(calendar) -> None:
    # Easter Monday 2026 is 6 April: the first slot after the weekend is Tuesday.
    slots = free_slots(
        calendar, visit(calendar), [1], [], NOW, after=paris(2026, 4, 5, 0, 0), count=1
    )
    assert wall(slots) == ["Tue 07 09:00"]
    slots = free_slots(
        calendar, visit(calendar), [1], [], NOW, after=paris(2026, 5, 14, 0, 0), count=1
    )
    assert wall(slots) == ["Fri 15 09:00"]  # Ascension Thursday


def test_nothing_beyond_the_horizon() -> None:
    calendar = Calendar(BookingSettings(horizon_days=2))
    slots = free_slots(calendar, calendar.booking.type_of("visit"), [1], [], NOW, count=100)
    assert wall(slots)[-1] == "Thu 12 10:00"  # ends 10:45; the horizon is 11:00 in Paris
    assert (
        free_slots(
            calendar,
            calendar.booking.type_of("visit"),
            [1],
            [],
            NOW,
            after=paris(2026, 3, 20, 9, 0),
        )
        == []
    )


def test_closed_days_and_holidays_can_be_configured() -> None:
    calendar = Calendar(BookingSettings(public_holidays=False, closed_days=[date(2026, 3, 11)]))
    slots = free_slots(
        calendar,
        calendar.booking.type_of("visit"),
        [1],
        [],
        NOW,
        after=paris(2026, 3, 11, 0, 0),
        count=1,
    )
    assert wall(slots) == ["Thu 12 09:00"]
    assert (
        check_slot(
            calendar, calendar.booking.type_of("visit"), 1, paris(2026, 4, 6, 10, 0), [], NOW
        )
        is None
    )


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (2019, date(2019, 4, 21)),
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2027, date(2027, 3, 28)),
        (2038, date(2038, 4, 25)),
    ],
)
def test_easter_dates(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter


def test_french_public_holidays_of_2026() -> None:
    days = public_holidays("FR", 2026)
    assert len(days) == 11
    assert days[date(2026, 4, 6)] == "easter_monday"
    assert days[date(2026, 5, 14)] == "ascension"
    assert days[date(2026, 5, 25)] == "whit_monday"
    assert days[date(2026, 7, 14)] == "bastille_day"
    assert public_holidays("ZZ", 2026) == {}


def test_daylight_saving_keeps_wall_clock_times(calendar) -> None:
    item = visit(calendar)
    friday_before = free_slots(
        calendar, item, [1], [], NOW, after=paris(2026, 3, 27, 0, 0), count=1
    )
    monday_after = free_slots(calendar, item, [1], [], NOW, after=paris(2026, 3, 30, 0, 0), count=1)
    assert [s.start for s in friday_before] == [datetime(2026, 3, 27, 8, 0, tzinfo=UTC)]
    assert [s.start for s in monday_after] == [datetime(2026, 3, 30, 7, 0, tzinfo=UTC)]
    autumn = free_slots(calendar, item, [1], [], NOW, after=paris(2026, 10, 26, 0, 0), count=1)
    assert [s.start for s in autumn] == [datetime(2026, 10, 26, 8, 0, tzinfo=UTC)]
    assert wall(monday_after + autumn) == ["Mon 30 09:00", "Mon 26 09:00"]


def test_the_night_of_the_change_itself() -> None:
    night = WeeklyHours(sun=[TimeRange(start="01:00", end="04:00")])
    calendar = Calendar(
        BookingSettings(default_hours=night, min_notice_minutes=0, horizon_days=366)
    )
    item = calendar.booking.type_of("call")
    spring = free_slots(calendar, item, [1], [], NOW, after=paris(2026, 3, 29, 0, 0), count=10)
    # 02:00 and 02:30 do not exist on 29 March 2026.
    assert wall(spring)[:4] == ["Sun 29 01:00", "Sun 29 01:30", "Sun 29 03:00", "Sun 29 03:30"]
    autumn = free_slots(calendar, item, [1], [], NOW, after=paris(2026, 10, 25, 0, 0), count=6)
    assert wall(autumn) == [
        f"Sun 25 0{h}" for h in ("1:00", "1:30", "2:00", "2:30", "3:00", "3:30")
    ]
    # 02:00 is taken at its first occurrence (summer time).
    assert autumn[2].start == datetime(2026, 10, 25, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "reason"),
    [
        (paris(2026, 3, 10, 9, 0), "past"),
        (paris(2026, 4, 6, 10, 0), "holiday"),
        (paris(2026, 3, 15, 10, 0), "day_off"),
        (paris(2026, 3, 11, 12, 0), "outside_hours"),
        (paris(2026, 3, 11, 8, 30), "outside_hours"),
        (paris(2026, 3, 11, 18, 30), "outside_hours"),
        (paris(2026, 3, 14, 16, 30), "outside_hours"),
        (paris(2026, 3, 11, 14, 30), "taken"),
        (paris(2026, 3, 11, 13, 30), "outside_hours"),
    ],
)
def test_check_slot_says_why(calendar, start: datetime, reason: str) -> None:
    busy = [Busy(1, paris(2026, 3, 11, 14, 0), paris(2026, 3, 11, 15, 0), 42)]
    refusal = check_slot(calendar, visit(calendar), 1, start, busy, NOW)
    assert refusal is not None and refusal.reason == reason
    if reason == "holiday":
        assert refusal.params == {"holiday": "easter_monday"}
    if reason == "taken":
        assert refusal.params == {"appointment_id": 42}


def test_check_slot_accepts_a_free_time_and_another_agent(calendar) -> None:
    busy = [Busy(1, paris(2026, 3, 11, 14, 0), paris(2026, 3, 11, 15, 0), 42)]
    assert check_slot(calendar, visit(calendar), 1, paris(2026, 3, 11, 15, 0), busy, NOW) is None
    assert check_slot(calendar, visit(calendar), 2, paris(2026, 3, 11, 14, 0), busy, NOW) is None


def test_slot_tokens_round_trip_and_refuse_junk(calendar) -> None:
    from core.booking.slots import parse_slot_token, slot_token

    [slot] = free_slots(calendar, calendar.booking.type_of("valuation"), [12345], [], NOW, count=1)
    token = slot_token(slot)
    assert len(token.encode()) <= 64
    assert parse_slot_token(token, calendar) == slot
    for junk in (
        "",
        "visit.1",
        "picnic.1.1773151200",
        "visit.x.1773151200",
        "visit.1.17731512000000",
    ):
        assert parse_slot_token(junk, calendar) is None
