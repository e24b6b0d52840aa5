"""Sara's words, in the prospect's language (``core.i18n.prospect.prospect_language``)."""

from __future__ import annotations

from datetime import datetime

from core.i18n.prospect import format_in, text_in

_WHEN = {"fr": "EEEE d MMMM 'à' HH:mm", "en": "EEEE d MMMM 'at' HH:mm"}


def say(language: str, key: str, /, **params: object) -> str:
    """The Sara message ``key`` in ``language``, with ``params`` filled in."""
    return text_in(language, f"sara.{key}", **params)


def when(moment: datetime, language: str, timezone: str) -> str:
    """An appointment time as people say it, in the tenant's time zone."""
    return format_in(moment, timezone, _WHEN[language], language)
