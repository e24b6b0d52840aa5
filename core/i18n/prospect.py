"""The language a prospect is written to, and texts and dates in it.

Everything sent to a prospect (Sara's replies, proposals, confirmations, notices, reminders,
surveys, the ``.ics``) is in the prospect's language: their own when we speak it, else the
tenant's default language (``TenantSettings.language``), else French. The agent's language (the
active one, ``core.i18n.t``) never leaks into a message to a prospect.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from core.i18n import LANGUAGES, message_in

#: The language when neither the prospect nor the tenant says otherwise.
DEFAULT_LANGUAGE = "fr"
_LOCALES = {"fr": "fr_FR", "en": "en_GB"}


def prospect_language(language: str | None, tenant_default: str | None = None) -> str:
    """``fr`` or ``en``: the prospect's language when we speak it, else the tenant's, else French.

    ``language`` may be a full tag ("en-GB", "fr_FR"); only its first two letters count.
    """
    for code in (language, tenant_default):
        short = (code or "").strip().lower()[:2]
        if short in LANGUAGES:
            return short
    return DEFAULT_LANGUAGE


def text_in(language: str, key: str, /, **params: object) -> str:
    """The catalog text ``key`` in ``language`` (English, then the key, when it is missing)."""
    return message_in(language, key, params)


def babel_locale_of(language: str) -> str:
    """The Babel locale used to write dates for ``language``."""
    return _LOCALES.get(language, _LOCALES[DEFAULT_LANGUAGE])


def format_in(moment: datetime, zone: str, fmt: str, language: str) -> str:
    """``moment`` in ``zone``, written with the Babel pattern ``fmt`` in ``language``."""
    local = moment.astimezone(ZoneInfo(zone))
    return format_datetime(local, fmt, tzinfo=local.tzinfo, locale=babel_locale_of(language))
