"""Why a booking, a move or a change of state was refused, said in the user's language."""

from __future__ import annotations

from typing import Any

from core.errors import InvalidInput
from core.i18n import t


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
