"""How an appointment's time and kind are shown: in the agency's zone and, when it differs, the
prospect's (a prospect abroad sees both); to agents (UI language) and to prospects (``words``,
``day_of``, ``time_of``, ``when_of``: in the prospect's language)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from core.domain.availability import BookingSettings
from core.i18n import catalog, format_datetime, t
from core.i18n.prospect import format_in, text_in


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


_DATE = {"fr": "EEEE d MMMM", "en": "EEEE d MMMM"}
SHORT_FORMAT = "EEE d MMM HH:mm"


def words(language: str, key: str, /, **params: object) -> str:
    """The ``prospect_booking.<key>`` text in ``language`` (English, then the key, if missing)."""
    return text_in(language, f"prospect_booking.{key}", **params)


def kind_in(language: str, kind: str, booking: BookingSettings | None = None) -> str:
    """An appointment type's name for the prospect: the agency's own label, else translated."""
    item = booking.type_of(kind) if booking else None
    if item is not None and item.label:
        return item.label
    return catalog(language).get(f"appointments.kind.{kind}") or kind


def format_in_zone(moment: datetime, zone: str, fmt: str, language: str) -> str:
    """``moment`` in ``zone``, written with the CLDR pattern ``fmt`` in ``language``."""
    return format_in(moment, zone, fmt, language)


def day_of(moment: datetime, zone: str, language: str) -> str:
    """The day of ``moment`` in ``zone`` ("mercredi 11 mars")."""
    return format_in_zone(moment, zone, _DATE[language], language)


def time_of(moment: datetime, zone: str, prospect_zone: str | None, language: str) -> str:
    """The time in the agency's zone, and the prospect's own when their clock differs."""
    agency = format_in_zone(moment, zone, "HH:mm", language)
    if not prospect_zone or same_clock(moment, zone, prospect_zone):
        return agency
    same_day = moment.astimezone(ZoneInfo(zone)).date() == (
        moment.astimezone(ZoneInfo(prospect_zone)).date()
    )
    theirs = format_in_zone(moment, prospect_zone, "HH:mm" if same_day else SHORT_FORMAT, language)
    return words(language, "notice.time_both", agency=agency, prospect=theirs, zone=prospect_zone)


def when_of(moment: datetime, zone: str, prospect_zone: str | None, language: str) -> str:
    """Day and time, both times for a prospect abroad ("mercredi 11 mars à 14:00")."""
    return words(
        language,
        "notice.day_time",
        day=day_of(moment, zone, language),
        time=time_of(moment, zone, prospect_zone, language),
    )
