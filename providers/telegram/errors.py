"""The one place where aiogram failures become ``core.channels.errors``."""

from __future__ import annotations

import asyncio

from core.channels.errors import PermanentProviderError, ProviderError, TransientProviderError
from providers._common import never_reached

PROVIDER = "telegram"


def map_error(exc: BaseException) -> ProviderError:
    """The core error for ``exc`` raised by an aiogram call."""
    from aiogram.exceptions import (
        TelegramAPIError,
        TelegramNetworkError,
        TelegramRetryAfter,
        TelegramServerError,
    )

    if isinstance(exc, TelegramRetryAfter):
        return TransientProviderError(
            f"Telegram: {exc.message}",
            provider=PROVIDER,
            code="429",
            retry_after=float(exc.retry_after),
            status=429,
        )
    if isinstance(exc, TelegramServerError | TelegramNetworkError):
        return TransientProviderError(
            f"Telegram: {exc.message}", provider=PROVIDER, unsent=never_reached(exc)
        )
    if isinstance(exc, TelegramAPIError):
        status = _status(exc)
        return PermanentProviderError(
            f"Telegram: {exc.message}", provider=PROVIDER, code=str(status or ""), status=status
        )
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return TransientProviderError("Telegram did not answer in time", provider=PROVIDER)
    return TransientProviderError(
        f"Telegram unreachable: {type(exc).__name__}", provider=PROVIDER, unsent=never_reached(exc)
    )


def _status(exc: BaseException) -> int | None:
    from aiogram import exceptions as e

    table = {
        e.TelegramBadRequest: 400,
        e.TelegramUnauthorizedError: 401,
        e.TelegramForbiddenError: 403,
        e.TelegramNotFound: 404,
        e.TelegramConflictError: 409,
        e.TelegramEntityTooLarge: 413,
    }
    return next((code for kind, code in table.items() if isinstance(exc, kind)), None)
