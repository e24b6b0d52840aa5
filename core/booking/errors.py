"""Why a booking, a move or a change of state was refused, said in the user's language."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from core.booking.slots import Calendar, Refusal
from core.errors import InvalidInput
from core.i18n import format_datetime, t

A = TypeVar("A")


class BookingRefused(InvalidInput):
    """A booking or change cannot be made; ``reason`` is a code, ``str(error)`` says why.

    Codes: ``past``, ``holiday``, ``closed_day``, ``day_off``, ``outside_hours``, ``taken``,
    ``unknown_kind``, ``no_agent``, ``agent_unavailable``, ``final``, ``not_started``,
    ``not_aware``.
    """

    def __init__(self, reason: str, field: str, value: Any, **params: Any) -> None:
        self.reason = reason
        self.params = params
        message = t(f"appointments.refused.{reason}", **params)
        super().__init__(field, value, message)
        self.args = (message,)


class SlotTaken(BookingRefused):
    """The agent already has an appointment (or its buffer) at that time."""

    def __init__(self, value: Any, **params: Any) -> None:
        super().__init__("taken", "starts_at", value, **params)


#: Which reason to give when every agent refuses, most telling first.
_SPECIFIC_FIRST = ("past", "holiday", "closed_day", "taken", "outside_hours", "day_off")


def most_telling(refusals: list[tuple[A, Refusal]]) -> tuple[A, Refusal]:
    """Of (agent, refusal) pairs, the one whose reason tells most (a holiday before a day off)."""
    return min(refusals, key=lambda pair: _SPECIFIC_FIRST.index(pair[1].reason))


def refusal_error(
    calendar: Calendar, start: datetime, agent_id: int, agent_name: str, refusal: Refusal
) -> BookingRefused:
    """The error to raise for ``refusal``, naming the agent, the holiday or the hours."""
    when = format_datetime(start, calendar.timezone, "short")
    params: dict[str, object] = {"agent": agent_name}
    if refusal.reason == "holiday":
        params["holiday"] = t(f"appointments.holiday.{refusal.params['holiday']}")
    if refusal.reason == "outside_hours":
        local = start.astimezone(calendar.zone)
        periods = calendar.booking.hours_of(agent_id).on(local.weekday())
        params["hours"] = ", ".join(f"{p.start:%H:%M}–{p.end:%H:%M}" for p in periods)
    if refusal.reason == "taken":
        return SlotTaken(when, **params)
    return BookingRefused(refusal.reason, "starts_at", when, **params)
