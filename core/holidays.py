"""Public holidays, computed (no calendar data to download): fixed dates and Easter-based ones."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

#: Countries whose holidays we know. Anything else gets no public holidays (agencies can still
#: add closed days in the booking settings).
SUPPORTED_COUNTRIES = ("FR", "BE", "LU")


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous Meeus/Jones/Butcher computus)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ell) // 451
    month, day = divmod(h + ell - 7 * m + 114, 31)
    return date(year, month, day + 1)


_FIXED: dict[str, tuple[tuple[int, int, str], ...]] = {
    "FR": (
        (1, 1, "new_year"),
        (5, 1, "labour_day"),
        (5, 8, "victory_day"),
        (7, 14, "bastille_day"),
        (8, 15, "assumption"),
        (11, 1, "all_saints"),
        (11, 11, "armistice"),
        (12, 25, "christmas"),
    ),
    "BE": (
        (1, 1, "new_year"),
        (5, 1, "labour_day"),
        (7, 21, "national_day"),
        (8, 15, "assumption"),
        (11, 1, "all_saints"),
        (11, 11, "armistice"),
        (12, 25, "christmas"),
    ),
    "LU": (
        (1, 1, "new_year"),
        (5, 1, "labour_day"),
        (5, 9, "europe_day"),
        (6, 23, "national_day"),
        (8, 15, "assumption"),
        (11, 1, "all_saints"),
        (12, 25, "christmas"),
        (12, 26, "st_stephen"),
    ),
}

#: Days after Easter Sunday: Easter Monday, Ascension Thursday, Whit Monday.
_FROM_EASTER = ((1, "easter_monday"), (39, "ascension"), (50, "whit_monday"))


def public_holidays(country: str, year: int) -> dict[date, str]:
    """The public holidays of ``country`` (ISO code) in ``year``: date → name key, by date.

    Name keys are translated with ``t("appointments.holiday.<key>")``.
    """
    return dict(_holidays(country.upper(), year))


def holiday_on(country: str, day: date) -> str | None:
    """The name key of the public holiday on ``day`` in ``country``, or None."""
    return _holidays(country.upper(), day.year).get(day)


@cache
def _holidays(country: str, year: int) -> dict[date, str]:
    fixed = _FIXED.get(country)
    if fixed is None:
        return {}
    days = {date(year, month, day): name for month, day, name in fixed}
    easter = easter_sunday(year)
    for offset, name in _FROM_EASTER:
        days[easter + timedelta(days=offset)] = name
    return dict(sorted(days.items()))
