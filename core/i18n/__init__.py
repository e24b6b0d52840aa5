"""The one translation layer: every user-visible string goes through ``t``.

Catalogs are TOML files, ``locales/<language>/<area>.toml``; a key is ``<area>.<name>`` (nested
tables give dotted names). Placeholders use ``str.format`` syntax: ``t("inbox.count", n=3)``.
A message that depends on a number is a table of CLDR plural forms chosen by its ``count``
parameter (``one``, ``other``; ``many`` and the others where a language has them, ``other``
standing in for any form left out)::

    [held]
    one = "{count} automated message held."
    other = "{count} automated messages held."

    t("automation.held", count=3)
Dates, times, numbers and amounts are formatted for the active locale with Babel.

The active language is process state, like gettext's: set it once at start with ``set_language``
(from the setting, else the system locale).
"""

from __future__ import annotations

import locale as _system_locale
import os
import tomllib
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import TIMEDELTA_UNITS, format_timedelta
from babel.dates import format_datetime as _babel_datetime
from babel.numbers import format_currency, format_decimal

LANGUAGES = ("fr", "en")
_LOCALES = {"fr": "fr_FR", "en": "en_GB"}
_CATALOGS = Path(__file__).with_name("locales")
_active = "en"


def detect_language() -> str:
    """The system's language if we speak it, else English."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    code = (_system_locale.getlocale()[0] or "").lower()
    return "fr" if code.startswith("fr") else "en"


def set_language(language: str | None) -> str:
    """Make ``language`` (``fr`` or ``en``; None for the system's) the active one; return it."""
    global _active
    chosen = language or detect_language()
    if chosen not in LANGUAGES:
        raise ValueError(f"unsupported language {chosen!r}; expected one of {', '.join(LANGUAGES)}")
    _active = chosen
    return chosen


def language() -> str:
    """The active language code."""
    return _active


def babel_locale() -> str:
    """The Babel locale of the active language."""
    return _LOCALES[_active]


@cache
def catalog(lang: str) -> dict[str, str]:
    """Every message of ``lang``, flattened to dotted keys."""
    messages: dict[str, str] = {}
    for path in sorted((_CATALOGS / lang).glob("*.toml")):
        messages.update(_area(lang, path.stem))
    return messages


@cache
def _area(lang: str, area: str) -> dict[str, str]:
    """The messages of one catalog file (``<area>.*`` keys): ``t`` reads only the areas it is
    asked for, so the app's start does not parse the catalogs of screens it has not opened."""
    messages: dict[str, str] = {}
    path = _CATALOGS / lang / f"{area}.toml"
    if area.isidentifier() and path.is_file():
        with path.open("rb") as handle:
            _flatten(area, tomllib.load(handle), messages)
    return messages


def _flatten(prefix: str, table: dict[str, Any], into: dict[str, str]) -> None:
    for key, value in table.items():
        name = f"{prefix}.{key}"
        if isinstance(value, dict):
            _flatten(name, value, into)
        else:
            into[name] = str(value)


def t(key: str, /, **params: Any) -> str:
    """The message ``key`` in the active language, with ``params`` filled in.

    A key missing from the active catalog falls back to English, then to the key itself, so that
    a forgotten translation shows up as a readable key rather than a crash.
    """
    return message_in(_active, key, params)


def message_in(lang: str, key: str, params: dict[str, Any]) -> str:
    """The message ``key`` in ``lang`` with ``params`` (its plural form chosen by ``count``)."""
    text = _lookup(lang, key, params.get("count")) or _lookup("en", key, params.get("count"))
    text = text or key
    if not params:
        return text
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        return text


def _lookup(lang: str, key: str, count: Any) -> str | None:
    messages = _area(lang, key.partition(".")[0])
    found = messages.get(key)
    if found is not None:
        return found
    if isinstance(count, int | float | Decimal):
        found = messages.get(f"{key}.{_plural_rule(lang)(abs(count))}")
    # without a count (a reason stored before its message had plural forms): the general form
    return found or messages.get(f"{key}.other")


@cache
def _plural_rule(lang: str) -> Any:
    """The CLDR plural rule of ``lang`` (French: 0 and 1 are singular)."""
    return Locale.parse(_LOCALES.get(lang, "en_GB")).plural_form


#: English "short" dates written so no reader takes 10/03 for October (or March): 10 Mar 2026.
_SHORT = {"en": "d MMM y, HH:mm"}


def format_datetime(value: datetime, tz: str | None = None, fmt: str = "medium") -> str:
    """A date and time for people, in ``tz`` (the local zone if None)."""
    moment = value.astimezone(_zone(tz))
    if fmt == "short":
        fmt = _SHORT.get(_active, fmt)
    return _babel_datetime(moment, format=fmt, tzinfo=moment.tzinfo, locale=babel_locale())


def zone_name(tz: str | None) -> str:
    """A time zone as people say it: "Paris" for Europe/Paris (the local zone if None)."""
    if not tz:
        return str(datetime.now().astimezone().tzname() or "")
    return tz.rsplit("/", 1)[-1].replace("_", " ")


def format_time(value: datetime, tz: str | None = None) -> str:
    """Hours and minutes, as the locale writes them."""
    return format_datetime(value, tz, fmt="short").split(" ")[-1]


#: What ``format_relative`` wrote, by what its text depends on (``_relative_key``).
_RELATIVE: dict[tuple[str, str, int, bool], str] = {}


def format_relative(value: datetime, now: datetime) -> str:
    """How long ago (or ahead) ``value`` is, shortly: "5 min", "il y a 2 h", "à l'instant".

    Each distinct text is made by Babel once and then reused: the inbox list asks for one per
    row on every page, and Babel's formatting was a third of making a row's cells.
    """
    delta: timedelta = value - now
    if abs(delta) < timedelta(minutes=1):
        return t("common.just_now")  # not "in 0 min"
    key = _relative_key(delta.total_seconds())
    text = _RELATIVE.get(key)
    if text is None:
        if len(_RELATIVE) >= 4096:
            _RELATIVE.clear()
        text = _RELATIVE[key] = format_timedelta(
            delta,
            granularity="minute",
            threshold=1.0,
            add_direction=True,
            format="short",
            locale=babel_locale(),
        )
    return text


def _relative_key(seconds: float) -> tuple[str, str, int, bool]:
    """Everything Babel's ``format_timedelta`` (minute granularity, threshold 1) reads of a
    delta of ``seconds``: the unit it picks, the rounded count of that unit, the direction;
    and the locale."""
    unit, count = "minute", 1
    for unit, per_unit in TIMEDELTA_UNITS:  # largest first, as Babel walks them
        value = abs(seconds) / per_unit
        if value >= 1.0 or unit == "minute":
            count = round(max(1.0, value))
            break
    return babel_locale(), unit, count, seconds >= 0


def format_money(amount: Decimal | float, currency: str = "EUR") -> str:
    """An amount with its currency, as the locale writes it (0,05 € / €0.05)."""
    return format_currency(amount, currency, locale=babel_locale(), decimal_quantization=False)


def format_number(value: float | int | Decimal, digits: int = 0) -> str:
    """A number with the locale's separators."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=babel_locale())


def format_percent(ratio: float) -> str:
    """A ratio (0–1) as a percentage with one decimal."""
    return format_number(ratio * 100, 1) + (" %" if _active == "fr" else "%")


def _zone(tz: str | None) -> Any:
    if tz is None:
        return datetime.now().astimezone().tzinfo
    from zoneinfo import ZoneInfo

    return ZoneInfo(tz)
