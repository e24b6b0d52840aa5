"""Sara's words, in the prospect's language (French unless they speak English)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from core.i18n import catalog

DEFAULT_LANGUAGE = "fr"
_LOCALES = {"fr": "fr_FR", "en": "en_GB"}
_WHEN = {"fr": "EEEE d MMMM 'à' HH:mm", "en": "EEEE d MMMM 'at' HH:mm"}


def prospect_language(language: str | None) -> str:
    """``fr`` or ``en``: the prospect's language when we speak it, else French."""
    code = (language or "").lower()[:2]
    return code if code in _LOCALES else DEFAULT_LANGUAGE


def say(language: str, key: str, /, **params: object) -> str:
    """The Sara message ``key`` in ``language``, with ``params`` filled in."""
    name = f"sara.{key}"
    text = catalog(language).get(name) or catalog("en").get(name) or name
    return text.format(**params) if params else text


def when(moment: datetime, language: str, timezone: str) -> str:
    """An appointment time as people say it, in the tenant's time zone."""
    local = moment.astimezone(ZoneInfo(timezone))
    return format_datetime(local, _WHEN[language], tzinfo=local.tzinfo, locale=_LOCALES[language])
