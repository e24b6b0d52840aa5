"""Free slots: when an agent can take an appointment of a given type.

Pure and fast: the caller loads the agents' existing appointments once (``Busy``), and slots are
generated lazily, day by day, in the tenant's local time, so that a 9:00 slot stays 9:00 on
either side of a daylight-saving change. Working periods step in local wall-clock time; durations
and buffers are real elapsed time.

An appointment must fit inside one working period; its buffer (rest, travel) follows it and must
not overlap the next appointment, but may run past the end of the period.
"""

from __future__ import annotations

import heapq
import itertools
import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.domain.availability import AppointmentType, BookingSettings, TimeRange
from core.holidays import holiday_on


@dataclass(frozen=True, slots=True)
class Busy:
    """Time an agent is taken: an appointment and the buffer after it (UTC)."""

    agent_id: int
    start: datetime
    end: datetime
    appointment_id: int | None = None


@dataclass(frozen=True, slots=True)
class Slot:
    """A free slot: ``start`` to ``end`` (UTC) with ``agent_id``, for an appointment ``kind``."""

    start: datetime
    end: datetime
    agent_id: int
    kind: str


_TOKEN = re.compile(r"^([a-z0-9_]{1,30})\.(\d{1,12})\.(\d{9,11})$")


def slot_token(slot: Slot) -> str:
    """A short text naming ``slot`` (kind, agent, start), e.g. for a Telegram button's data.

    At most 56 characters (Telegram allows 64). It is only a request: booking it checks the
    slot again, so a stale or forged token can never double-book.
    """
    return f"{slot.kind}.{slot.agent_id}.{int(slot.start.timestamp())}"


def parse_slot_token(token: str, calendar: Calendar) -> Slot | None:
    """The slot a ``slot_token`` names, or None if it is malformed or names an unknown kind."""
    match = _TOKEN.match(token or "")
    item = calendar.booking.type_of(match[1]) if match else None
    if match is None or item is None:
        return None
    start = datetime.fromtimestamp(int(match[3]), UTC)
    return Slot(start, start + timedelta(minutes=item.minutes), int(match[2]), item.key)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a time cannot be booked: a reason code and what to say about it.

    Codes: ``past``, ``holiday`` (``holiday`` = its name key), ``closed_day``, ``day_off``,
    ``outside_hours``, ``taken`` (``appointment_id`` = the one in the way).
    """

    reason: str
    params: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Calendar:
    """The agency's booking rules in its time zone and country."""

    booking: BookingSettings
    timezone: str = "Europe/Paris"
    country: str = "FR"

    @property
    def zone(self) -> ZoneInfo:
        """The tenant's time zone."""
        return ZoneInfo(self.timezone)

    def closed_because(self, day: date) -> Refusal | None:
        """Why the agency is closed on ``day`` (a holiday, a closed day), or None."""
        if self.booking.public_holidays:
            name = holiday_on(self.country, day)
            if name is not None:
                return Refusal("holiday", {"holiday": name})
        if day in self.booking.closed_days:
            return Refusal("closed_day")
        return None

    def occupied_until(self, kind: str, end: datetime) -> datetime:
        """When an appointment of ``kind`` ending at ``end`` frees its agent (buffer added)."""
        item = self.booking.type_of(kind)
        return end + timedelta(minutes=item.buffer_minutes if item else 0)


def local_time(day: date, clock: time, zone: ZoneInfo) -> datetime | None:
    """``day`` at wall-clock ``clock`` in ``zone``, in UTC; None if that time does not exist.

    A time skipped by a daylight-saving change (02:30 on the spring change in Paris) does not
    exist; a repeated one (02:30 on the autumn change) is taken at its first occurrence.
    """
    naive = datetime.combine(day, clock)
    aware = naive.replace(tzinfo=zone)
    moment = aware.astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return moment


def check_slot(
    calendar: Calendar,
    item: AppointmentType,
    agent_id: int,
    start: datetime,
    busy: Iterable[Busy],
    now: datetime,
) -> Refusal | None:
    """Why ``agent_id`` cannot take an ``item`` appointment at ``start``, or None if it can."""
    if start <= now:
        return Refusal("past")
    end = start + timedelta(minutes=item.minutes)
    local = start.astimezone(calendar.zone)
    closed = calendar.closed_because(local.date())
    if closed is not None:
        return closed
    periods = calendar.booking.hours_of(agent_id).on(local.weekday())
    if not periods:
        return Refusal("day_off")
    if not any(_fits(calendar.zone, local.date(), p, start, end) for p in periods):
        return Refusal("outside_hours")
    until = end + timedelta(minutes=item.buffer_minutes)
    for other in busy:
        if other.agent_id == agent_id and other.start < until and start < other.end:
            return Refusal("taken", {"appointment_id": other.appointment_id})
    return None


def _fits(zone: ZoneInfo, day: date, period: TimeRange, start: datetime, end: datetime) -> bool:
    opens = local_time(day, period.start, zone)
    closes = local_time(day, period.end, zone)
    return opens is not None and closes is not None and opens <= start and end <= closes


def free_slots(
    calendar: Calendar,
    item: AppointmentType,
    agent_ids: Sequence[int],
    busy: Iterable[Busy],
    now: datetime,
    *,
    after: datetime | None = None,
    before: datetime | None = None,
    count: int = 5,
) -> list[Slot]:
    """The first ``count`` free slots from ``after`` (default: now plus the minimum notice).

    With several agents, each start time is offered once, with the agent free then who has the
    lightest load: the fewest appointments that day plus slots already offered in this list
    (so "any agent" spreads the work instead of filling the first agent's diary), ties going
    to the order given. Slots start no earlier than ``now`` plus the minimum notice and end no
    later than ``before`` (default: the booking horizon).
    """
    booking = calendar.booking
    earliest = now + timedelta(minutes=booking.min_notice_minutes)
    if after is not None:
        earliest = max(earliest, after)
    latest = now + timedelta(days=booking.horizon_days)
    if before is not None:
        latest = min(latest, before)
    per_agent = _by_agent(busy)
    streams = [
        _agent_slots(calendar, item, agent, per_agent.get(agent, []), earliest, latest)
        for agent in agent_ids
    ]
    rank = {agent: index for index, agent in enumerate(agent_ids)}
    offered: dict[int, int] = {}

    def load(slot: Slot) -> tuple[int, int]:
        day = slot.start.astimezone(calendar.zone).date()
        taken = sum(1 for b in per_agent.get(slot.agent_id, ()) if _local_day(b, calendar) == day)
        return taken + offered.get(slot.agent_id, 0), rank[slot.agent_id]

    found: list[Slot] = []
    merged = heapq.merge(*streams, key=lambda s: s.start)
    for _, same_time in itertools.groupby(merged, key=lambda s: s.start):
        chosen = min(same_time, key=load)
        offered[chosen.agent_id] = offered.get(chosen.agent_id, 0) + 1
        found.append(chosen)
        if len(found) >= count:
            break
    return found


def _local_day(busy: Busy, calendar: Calendar) -> date:
    return busy.start.astimezone(calendar.zone).date()


def _by_agent(busy: Iterable[Busy]) -> dict[int, list[Busy]]:
    grouped: dict[int, list[Busy]] = {}
    for item in busy:
        grouped.setdefault(item.agent_id, []).append(item)
    for items in grouped.values():
        items.sort(key=lambda b: b.start)
    return grouped


def _agent_slots(
    calendar: Calendar,
    item: AppointmentType,
    agent_id: int,
    busy: list[Busy],
    earliest: datetime,
    latest: datetime,
) -> Iterator[Slot]:
    zone = calendar.zone
    hours = calendar.booking.hours_of(agent_id)
    length = timedelta(minutes=item.minutes)
    rest = timedelta(minutes=item.buffer_minutes)
    step = timedelta(minutes=calendar.booking.slot_step_minutes)
    starts = [b.start for b in busy]
    longest = max((b.end - b.start for b in busy), default=timedelta(0))
    day, last_day = earliest.astimezone(zone).date(), latest.astimezone(zone).date()
    while day <= last_day:
        if calendar.closed_because(day) is None:
            for period in hours.on(day.weekday()):
                closes = local_time(day, period.end, zone)
                wall = datetime.combine(day, period.start)
                while closes is not None and wall.time() < period.end and wall.date() == day:
                    start = local_time(day, wall.time(), zone)
                    wall += step
                    if start is None or start < earliest:
                        continue
                    end = start + length
                    if end > closes or end > latest:
                        break
                    lo = bisect_left(starts, start - longest)
                    hi = bisect_left(starts, end + rest)
                    if not any(b.end > start for b in busy[lo:hi]):
                        yield Slot(start, end, agent_id, item.key)
        day += timedelta(days=1)
