"""Understanding when a prospect wants to come: "demain 15h", "mardi matin", "friday at 10".

French and English, relative to a given ``now`` in the tenant's time zone. The answer is an exact
time or a window (a morning, a whole day); anything unclear gives None, never a guess:
negations and alternatives ("pas demain", "mardi ou mercredi"), a time with no day, an hour
that could be morning or evening ("3h", "at 3"), a weekday that is also today ("mardi" said on a
Tuesday), conflicting parts ("jeudi 11 mars" when the 11th is a Wednesday), past times, numbers
left over. Numeric dates are day/month ("12/03" is 12 March), as in France.

"Next Tuesday" and "mardi prochain" are the coming Tuesday (the one of next week when said on a
Tuesday).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

#: Windows of the day's parts (local time); slot search intersects them with working hours.
PERIODS: dict[str, tuple[time, time]] = {
    "morning": (time(8, 0), time(12, 0)),
    "afternoon": (time(12, 0), time(18, 0)),
    "evening": (time(17, 0), time(21, 0)),
}

_MONTHS = {
    "janvier": 1, "janv": 1, "january": 1, "jan": 1,
    "fevrier": 2, "fevr": 2, "fev": 2, "february": 2, "feb": 2,
    "mars": 3, "march": 3, "mar": 3,
    "avril": 4, "avr": 4, "april": 4, "apr": 4,
    "mai": 5, "may": 5,
    "juin": 6, "june": 6, "jun": 6,
    "juillet": 7, "juil": 7, "july": 7, "jul": 7,
    "aout": 8, "august": 8, "aug": 8,
    "septembre": 9, "sept": 9, "september": 9, "sep": 9,
    "octobre": 10, "october": 10, "oct": 10,
    "novembre": 11, "november": 11, "nov": 11,
    "decembre": 12, "december": 12, "dec": 12,
}  # fmt: skip
_WEEKDAYS = {
    "lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6,
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
    "sunday": 6,
}  # fmt: skip
_PERIOD_WORDS = {
    "matin": "morning", "matinee": "morning", "morning": "morning",
    "apres midi": "afternoon", "aprem": "afternoon", "afternoon": "afternoon",
    "soir": "evening", "soiree": "evening", "evening": "evening", "fin de journee": "evening",
    "end of the day": "evening",
}  # fmt: skip
#: Words that make an answer unclear: negations, alternatives, doubt, vague spans, the past.
_UNCLEAR = re.compile(
    r"\b(pas|non|not|no|ne|ni|nor|ou|or|either|sauf|except|unless|peut etre|maybe|perhaps|"
    r"sinon|otherwise|instead|plutot|rather|entre|between|avant|before|apres|after|until|jusqu|"
    r"impossible|cannot|jamais|never|hier|yesterday|semaine|week|weekend|mois|month|minuit|"
    r"midnight|ou bien|n|\w+n't)\b"
)

_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DAY = "|".join(_WEEKDAYS)
_PERIOD = "|".join(sorted(_PERIOD_WORDS, key=len, reverse=True))
_ORD = r"(?:er|st|nd|rd|th)?"


@dataclass(frozen=True, slots=True)
class When:
    """What the prospect asked for, in the tenant's zone: an exact time or a window.

    An exact time has ``start == end``.
    """

    start: datetime
    end: datetime

    @property
    def exact(self) -> bool:
        """Whether this is one precise time rather than a window."""
        return self.start == self.end


@dataclass
class _Found:
    today: date
    dates: list[date | None] = field(default_factory=list)
    weekdays: list[int] = field(default_factory=list)
    times: list[tuple[int, int, str | None]] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)


def parse_when(text: str, now: datetime, timezone: str = "Europe/Paris") -> When | None:
    """The time or window ``text`` names, relative to ``now``; None when it is not clear."""
    zone = ZoneInfo(timezone)
    local_now = now.astimezone(zone)
    rest = _normalize(text or "")
    if not rest.strip():
        return None
    found = _Found(local_now.date())
    for pattern, handler in _RULES:
        rest = pattern.sub(partial(_consume, handler=handler, found=found), rest)
    if re.search(r"\d", rest) or _UNCLEAR.search(rest):
        return None
    return _resolve(found, local_now, zone)


def _normalize(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.replace("\u2019", "'").replace("a.m.", "am").replace("p.m.", "pm")
    plain = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", plain)
    plain = re.sub(r"[-_,;!?()\"«»…]", " ", plain)
    plain = re.sub(r"\b(aujourd) ?'? ?hui\b", "aujourdhui", plain)
    plain = re.sub(r"\b(de l|d)'", r"\1 ", plain)
    return " " + " ".join(plain.split()) + " "


def _consume(match: re.Match[str], handler: Callable, found: _Found) -> str:
    handler(match, found)
    return " "


def _add_date(found: _Found, day: int, month: int, year: int | None) -> None:
    found.dates.append(_valid_date(found.today, day, month, year))


def _valid_date(today: date, day: int, month: int, year: int | None) -> date | None:
    if year is not None and year < 100:
        year += 2000
    try:
        candidate = date(year or today.year, month, day)
    except ValueError:
        return None
    if year is None and candidate < today:
        next_year = _next_year(candidate)
        if next_year is None or next_year - today > timedelta(days=183):
            return None
        return next_year
    return candidate


def _next_year(day: date) -> date | None:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return None


def _numeric_date(m: re.Match[str], f: _Found) -> None:
    _add_date(f, int(m["d"]), int(m["m"]), int(m["y"]) if m["y"] else None)


def _text_date(m: re.Match[str], f: _Found) -> None:
    _add_date(f, int(m["d"]), _MONTHS[m["mon"]], int(m["y"]) if m["y"] else None)


def _weekday_and_day(m: re.Match[str], f: _Found) -> None:
    f.weekdays.append(_WEEKDAYS[m["wd"]])
    _day_of_month(m, f)


def _day_of_month(m: re.Match[str], f: _Found) -> None:
    today, day = f.today, int(m["d"])
    month_start = today.replace(day=1)
    for months_ahead in (0, 1):
        first = (month_start + timedelta(days=32 * months_ahead)).replace(day=1)
        found = _valid_date(today, day, first.month, first.year)
        if found is not None and found >= today:
            f.dates.append(found)
            return
    f.dates.append(None)


def _relative(offset: int, period: str | None = None) -> Callable[[re.Match[str], _Found], None]:
    def handler(_m: re.Match[str], f: _Found) -> None:
        f.dates.append(f.today + timedelta(days=offset))
        if period:
            f.periods.append(period)

    return handler


def _weekday(m: re.Match[str], f: _Found) -> None:
    target = _WEEKDAYS[m["wd"]]
    ahead = (target - f.today.weekday()) % 7
    this = m["pre"] in ("ce", "this")
    following = m["pre"] == "next" or bool(m["post"])
    if ahead == 0 and not this and not following:
        f.dates.append(None)  # "mardi" said on a Tuesday: today or next week?
        return
    if ahead == 0 and following:
        ahead = 7
    f.dates.append(f.today + timedelta(days=ahead))


def _meridiem(m: re.Match[str], f: _Found) -> None:
    f.times.append((int(m["h"]), int(m["min"] or 0), m["ap"]))


def _french_hour(m: re.Match[str], f: _Found) -> None:
    minute = int(m["min"] or 0)
    extra = m["extra"] or ""
    if "demi" in extra:
        minute = 30
    elif "moins" in extra:
        f.times.append((int(m["h"]) - 1, 45, None))
        return
    elif "quart" in extra:
        minute = 15
    f.times.append((int(m["h"]), minute, None))


def _clock(m: re.Match[str], f: _Found) -> None:
    f.times.append((int(m["h"]), int(m["min"]), None))


def _noon(m: re.Match[str], f: _Found) -> None:
    f.times.append((12, 30 if m["half"] else 0, "noon"))


def _bare_hour(m: re.Match[str], f: _Found) -> None:
    f.times.append((int(m["h"]), 0, None))


def _period(m: re.Match[str], f: _Found) -> None:
    f.periods.append(_PERIOD_WORDS[m["p"]])


def _rule(pattern: str, handler: Callable) -> tuple[re.Pattern[str], Callable]:
    return re.compile(pattern), handler


_RULES = [
    _rule(r"\b(?:le )?(?P<d>\d{1,2})/(?P<m>\d{1,2})(?:/(?P<y>\d{4}|\d{2}))?\b", _numeric_date),
    _rule(
        rf"\b(?:le |on |the )*(?P<d>\d{{1,2}}){_ORD}(?: of)? (?P<mon>{_MONTH})"
        r"(?: (?P<y>\d{4}))?\b",
        _text_date,
    ),
    _rule(rf"\b(?:on )?(?P<mon>{_MONTH}) (?P<d>\d{{1,2}}){_ORD}(?: (?P<y>\d{{4}}))?\b", _text_date),
    _rule(
        r"\b(?:after tomorrow|apres demain|the day after tomorrow|day after tomorrow)\b",
        _relative(2),
    ),
    _rule(r"\b(?:demain|tomorrow)\b", _relative(1)),
    _rule(r"\b(?:ce matin|this morning)\b", _relative(0, "morning")),
    _rule(r"\b(?:cet apres midi|cette apres midi|this afternoon)\b", _relative(0, "afternoon")),
    _rule(r"\b(?:ce soir|tonight|this evening)\b", _relative(0, "evening")),
    _rule(r"\b(?:aujourdhui|today)\b", _relative(0)),
    _rule(rf"\b(?:in the |le |du |de la |de l |dans la |en |the )?(?P<p>{_PERIOD})\b", _period),
    _rule(
        rf"\b(?:le |on )?(?P<wd>{_DAY}) (?P<d>\d{{1,2}}){_ORD}\b"
        r"(?! ?(?:h\b|heures?\b|:|am\b|pm\b|/))",
        _weekday_and_day,
    ),
    _rule(
        rf"\b(?:(?P<pre>ce|this|next|on) )?(?P<wd>{_DAY})(?P<post> prochain| qui vient)?\b",
        _weekday,
    ),
    _rule(r"\b(?:le |on )?the (?P<d>\d{1,2})(?:st|nd|rd|th)\b", _day_of_month),
    _rule(
        r"\b(?:le |on )(?P<d>\d{1,2})(?:er|st|nd|rd|th)?\b(?! ?(?:h\b|heures?\b|:|am\b|pm\b))",
        _day_of_month,
    ),
    _rule(
        r"\b(?:at |a |vers |around )?(?P<h>\d{1,2})(?:[:.](?P<min>\d{2}))? ?(?P<ap>am|pm)\b",
        _meridiem,
    ),
    _rule(
        r"\b(?:a |vers |des )?(?P<h>\d{1,2}) ?(?:h|heures?)(?: ?(?P<min>\d{2}))?"
        r"(?P<extra> et demie?| et quart| moins le quart)?\b",
        _french_hour,
    ),
    _rule(r"\b(?:at |a |vers |around )?(?P<h>\d{1,2}):(?P<min>\d{2})\b", _clock),
    _rule(r"\b(?:at |a |vers |around )?(?:midi|noon|midday)(?P<half> et demie?| trente)?\b", _noon),
    _rule(r"\b(?:at |a |vers |around )(?P<h>\d{1,2})(?: ?o ?'? ?clock)?\b", _bare_hour),
    _rule(r"\b(?P<h>\d{1,2}) ?o ?'? ?clock\b", _bare_hour),
]


def _resolve(found: _Found, local_now: datetime, zone: ZoneInfo) -> When | None:
    days = set(found.dates)
    if len(days) != 1 or None in days:
        return None
    day = days.pop()
    assert day is not None
    if any(weekday != day.weekday() for weekday in found.weekdays):
        return None
    if day - local_now.date() > timedelta(days=366):
        return None
    periods = set(found.periods)
    if len(periods) > 1 or len(set(found.times)) > 1:
        return None
    period = periods.pop() if periods else None
    if found.times:
        clock = _time_of_day(*found.times[0], period)
        if clock is None:
            return None
        return _exact(day, clock, local_now, zone)
    start, end = PERIODS[period] if period else (time(0), None)
    return _window(day, start, end, local_now, zone)


def _time_of_day(hour: int, minute: int, meridiem: str | None, period: str | None) -> time | None:
    """The clock time said, with "pm", "de l'après-midi"… applied; None if ambiguous."""
    if not 0 <= minute <= 59:
        return None
    if meridiem in ("am", "pm"):
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    elif period in ("afternoon", "evening") and 1 <= hour < 12:
        hour += 12
    elif hour <= 6 and meridiem != "noon" and period != "morning":
        return None  # "3h", "at 3": three in the night or in the afternoon?
    if not 0 <= hour <= 23:
        return None
    if period is not None:
        opens, closes = PERIODS[period]
        if not opens <= time(hour, minute) <= closes:
            return None
    return time(hour, minute)


def _exact(day: date, clock: time, local_now: datetime, zone: ZoneInfo) -> When | None:
    moment = _existing(day, clock, zone)
    if moment is None or moment <= local_now:
        return None
    return When(moment, moment)


def _window(
    day: date, opens: time, closes: time | None, local_now: datetime, zone: ZoneInfo
) -> When | None:
    start = _existing(day, opens, zone)
    end = _existing(day + timedelta(days=1), time(0), zone) if closes is None else None
    if closes is not None:
        end = _existing(day, closes, zone)
    if start is None or end is None or end <= local_now:
        return None
    return When(start, end)


def _existing(day: date, clock: time, zone: ZoneInfo) -> datetime | None:
    """``day`` at ``clock`` in ``zone``; None for a time a daylight-saving change skips, or
    one it repeats (2:30 on the last Sunday of October happens twice: which one was meant?)."""
    naive = datetime.combine(day, clock)
    aware = naive.replace(tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        return None
    if aware.utcoffset() != naive.replace(tzinfo=zone, fold=1).utcoffset():
        return None
    return aware
