"""How an appointment's time and kind are shown: in the agency's zone and, when it differs, the
prospect's (a prospect abroad sees both)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from core.appointments.availability import BookingSettings
from core.i18n import format_datetime, t


@dataclass(frozen=True, slots=True)
class BothTimes:
    """A moment written in the agency's zone and, if different, in the prospect's."""

    agency: str
    agency_zone: str
    prospect: str | None
    prospect_zone: str | None

    def __str__(self) -> str:
        if self.prospect is None:
            return self.agency
        return t(
            "appointments.when.both",
            agency=self.agency,
            agency_zone=self.agency_zone,
            prospect=self.prospect,
            zone=self.prospect_zone,
        )


def same_clock(moment: datetime, zone_a: str, zone_b: str) -> bool:
    """Whether both zones show the same wall-clock time at ``moment``."""
    return (
        moment.astimezone(ZoneInfo(zone_a)).utcoffset()
        == moment.astimezone(ZoneInfo(zone_b)).utcoffset()
    )


def both_times(
    moment: datetime, agency_zone: str, prospect_zone: str | None, fmt: str = "full_short"
) -> BothTimes:
    """``moment`` in the agency's zone, plus the prospect's when their clock differs.

    ``fmt`` is a Babel format; ``full_short`` (the default) gives the weekday, date and time.
    """
    agency = _format(moment, agency_zone, fmt)
    if not prospect_zone or same_clock(moment, agency_zone, prospect_zone):
        return BothTimes(agency, agency_zone, None, None)
    return BothTimes(agency, agency_zone, _format(moment, prospect_zone, fmt), prospect_zone)


def _format(moment: datetime, zone: str, fmt: str) -> str:
    if fmt == "full_short":
        day = format_datetime(moment, zone, "EEEE d MMMM y")
        return t("appointments.when.day_time", day=day, time=format_datetime(moment, zone, "HH:mm"))
    return format_datetime(moment, zone, fmt)


def slot_label(moment: datetime, zone: str) -> str:
    """A slot as a short button label in the active language: "mer. 11 mars 14:00"."""
    return format_datetime(moment, zone, "EEE d MMM HH:mm")


def kind_label(kind: str, booking: BookingSettings | None = None) -> str:
    """The name of an appointment type, as the agency called it or translated."""
    item = booking.type_of(kind) if booking else None
    if item is not None and item.label:
        return item.label
    key = f"appointments.kind.{kind}"
    label = t(key)
    return kind if label == key else label
