"""Booking settings: when each agent works, what each appointment type takes, where it happens.

Stored in ``TenantSettings.booking``; every field has the agency's usual default so that a tenant
with no booking settings can book right away.
"""

from __future__ import annotations

from datetime import date, time
from itertools import pairwise
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from core.config.settings import Clock

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)


class TimeRange(_Model):
    """A stretch of a working day, local time: ``start`` ≤ t < ``end``."""

    start: Clock
    end: Clock

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if self.end <= self.start:
            raise ValueError("a working period must end after it starts")
        return self


def _day(*pairs: tuple[int, int, int, int]) -> list[TimeRange]:
    return [TimeRange(start=time(a, b), end=time(c, d)) for a, b, c, d in pairs]


def _weekday_hours() -> list[TimeRange]:
    return _day((9, 0, 12, 30), (14, 0, 19, 0))


class WeeklyHours(_Model):
    """Working periods for each day of the week (an empty list: not working that day)."""

    mon: list[TimeRange] = Field(default_factory=_weekday_hours)
    tue: list[TimeRange] = Field(default_factory=_weekday_hours)
    wed: list[TimeRange] = Field(default_factory=_weekday_hours)
    thu: list[TimeRange] = Field(default_factory=_weekday_hours)
    fri: list[TimeRange] = Field(default_factory=_weekday_hours)
    sat: list[TimeRange] = Field(default_factory=lambda: _day((10, 0, 17, 0)))
    sun: list[TimeRange] = Field(default_factory=list)

    @model_validator(mode="after")
    def _no_overlap(self) -> WeeklyHours:
        for name in WEEKDAYS:
            periods = sorted(getattr(self, name), key=lambda r: r.start)
            for before, after in pairwise(periods):
                if after.start < before.end:
                    raise ValueError(f"working periods of {name} overlap")
        return self

    def on(self, weekday: int) -> list[TimeRange]:
        """The periods of ``weekday`` (0 = Monday), earliest first."""
        return sorted(getattr(self, WEEKDAYS[weekday]), key=lambda r: r.start)


class AppointmentType(_Model):
    """A kind of appointment: how long it lasts, the rest kept after it, where it happens.

    ``where`` says which address to use by default: the agency's, the property's (given when
    booking) or none (a call).
    """

    key: str = Field(pattern=r"^[a-z0-9_]{1,30}$")
    minutes: int = Field(ge=5, le=8 * 60)
    buffer_minutes: int = Field(0, ge=0, le=4 * 60)
    where: Literal["agency", "property", "remote"] = "agency"
    #: Shown instead of the translated ``appointments.kind.<key>`` (for an agency's own types).
    label: str | None = Field(None, max_length=80)


def _default_types() -> list[AppointmentType]:
    return [
        AppointmentType(key="visit", minutes=45, buffer_minutes=15, where="property"),
        AppointmentType(key="valuation", minutes=60, buffer_minutes=15, where="property"),
        AppointmentType(key="signing", minutes=90, buffer_minutes=30, where="agency"),
        AppointmentType(key="meeting", minutes=45, buffer_minutes=15, where="agency"),
        AppointmentType(key="call", minutes=15, buffer_minutes=5, where="remote"),
    ]


class PropertyLocation(_Model):
    """A property agents show, by a short name."""

    key: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")
    address: str = Field(min_length=3, max_length=300)


class BookingSettings(_Model):
    """Everything slot computation and booking need to know about the agency."""

    default_hours: WeeklyHours = Field(default_factory=WeeklyHours)
    #: Hours of particular agents (by agent id); the others work ``default_hours``.
    agent_hours: dict[int, WeeklyHours] = Field(default_factory=dict)
    types: list[AppointmentType] = Field(default_factory=_default_types)
    properties: list[PropertyLocation] = Field(default_factory=list)
    #: Proposed slots start on multiples of this many minutes from the start of a period.
    slot_step_minutes: int = Field(30, ge=5, le=240)
    #: Slots are only proposed this long after now (an agent may still book sooner).
    min_notice_minutes: int = Field(60, ge=0, le=14 * 24 * 60)
    #: How far ahead slots are looked for.
    horizon_days: int = Field(60, ge=1, le=366)
    public_holidays: bool = True
    #: The agency's own closed days (bridges, summer closure), on top of public holidays.
    closed_days: list[date] = Field(default_factory=list)

    @field_validator("types")
    @classmethod
    def _unique_types(cls, value: list[AppointmentType]) -> list[AppointmentType]:
        keys = [item.key for item in value]
        if len(set(keys)) != len(keys):
            raise ValueError("appointment types must have different keys")
        if not keys:
            raise ValueError("at least one appointment type is needed")
        return value

    def hours_of(self, agent_id: int | None) -> WeeklyHours:
        """The weekly hours of ``agent_id`` (the default ones when it has none of its own)."""
        if agent_id is None:
            return self.default_hours
        return self.agent_hours.get(agent_id, self.default_hours)

    def type_of(self, key: str) -> AppointmentType | None:
        """The appointment type ``key``, if the agency has it."""
        return next((item for item in self.types if item.key == key), None)

    def property_address(self, key: str) -> str | None:
        """The address of the property called ``key``, if known."""
        return next((p.address for p in self.properties if p.key == key), None)
