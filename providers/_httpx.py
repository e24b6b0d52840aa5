"""The httpx error mapping shared by the adapters without an SDK (Meta, VAPI)."""

from __future__ import annotations

from typing import Any

from core.channels.errors import PermanentProviderError, ProviderError, TransientProviderError
from providers._common import never_reached, retry_after

TRANSIENT_STATUSES = frozenset({408, 409, 425, 429})


def map_httpx_error(exc: BaseException, provider: str) -> ProviderError:
    """The core error for a failed httpx call (``HTTPStatusError`` carries the response)."""
    import httpx

    if isinstance(exc, httpx.HTTPStatusError):
        response = exc.response
        status = response.status_code
        code, message = _error_fields(response)
        text = f"{provider} {status}: {message}"
        if status in TRANSIENT_STATUSES or status >= 500:
            return TransientProviderError(
                text,
                provider=provider,
                code=code,
                retry_after=retry_after(response.headers.get("Retry-After")),
                status=status,
            )
        return PermanentProviderError(text, provider=provider, code=code, status=status)
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return TransientProviderError(f"{provider} did not answer in time", provider=provider)
    return TransientProviderError(
        f"{provider} unreachable: {type(exc).__name__}",
        provider=provider,
        unsent=never_reached(exc),
    )


def _error_fields(response: Any) -> tuple[str | None, str]:
    try:
        body = response.json()
    except ValueError:
        return None, response.reason_phrase or "error"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):  # Meta Graph API
        return str(error.get("code")), str(error.get("message"))
    if isinstance(body, dict) and "message" in body:  # VAPI (NestJS)
        message = body["message"]
        return None, "; ".join(message) if isinstance(message, list) else str(message)
    return None, "error"
