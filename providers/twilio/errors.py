"""The one place where Twilio SDK failures become ``core.channels.errors``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping

from core.channels.errors import PermanentProviderError, ProviderError, TransientProviderError
from providers._common import never_reached, retry_after

PROVIDER = "twilio"

#: Codes a retry can fix even though Twilio answers them with a 4xx.
TRANSIENT_CODES = frozenset({20429, 30001, 30008})


def map_error(exc: BaseException, headers: Mapping[str, str] | None = None) -> ProviderError:
    """The core error for ``exc`` raised by a twilio call.

    ``headers`` are those of the last response, where ``Retry-After`` is read on a 429.
    """
    from twilio.base.exceptions import TwilioException, TwilioRestException

    if isinstance(exc, TwilioRestException):
        code = str(exc.code) if exc.code is not None else None
        message = f"Twilio {exc.status}: {exc.msg}"
        transient = exc.status == 429 or exc.status >= 500 or (exc.code in TRANSIENT_CODES)
        if transient:
            delay = retry_after((headers or {}).get("Retry-After"))
            return TransientProviderError(
                message, provider=PROVIDER, code=code, retry_after=delay, status=exc.status
            )
        return PermanentProviderError(message, provider=PROVIDER, code=code, status=exc.status)
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return TransientProviderError("Twilio did not answer in time", provider=PROVIDER)
    if isinstance(exc, TwilioException):
        page = _page_error(exc)
        if page is not None:
            return map_error(page, headers)
        return PermanentProviderError(f"Twilio: {exc}", provider=PROVIDER)
    return TransientProviderError(
        f"Twilio unreachable: {type(exc).__name__}", provider=PROVIDER, unsent=never_reached(exc)
    )


def _page_error(exc: BaseException) -> BaseException | None:
    """A list call fails with ``TwilioException("Unable to fetch page", response)``: re-read it."""
    from twilio.base.exceptions import TwilioRestException

    response = exc.args[1] if len(exc.args) == 2 else None
    status = getattr(response, "status_code", None)
    if response is None or not isinstance(status, int):
        return None
    try:
        body = json.loads(response.text)
    except (TypeError, ValueError):
        body = {}
    return TwilioRestException(status, "", body.get("message", ""), body.get("code"))
