"""The one place where sendgrid / python-http-client failures become core errors."""

from __future__ import annotations

import json

from core.channels.errors import PermanentProviderError, ProviderError, TransientProviderError
from providers._common import never_reached, retry_after

PROVIDER = "sendgrid"


def map_error(exc: BaseException) -> ProviderError:
    """The core error for ``exc`` raised by ``SendGridAPIClient``."""
    from python_http_client.exceptions import HTTPError

    if isinstance(exc, HTTPError):
        status = int(getattr(exc, "status_code", 0) or 0)
        message = _first_message(getattr(exc, "body", b""))
        text = f"SendGrid {status}: {message}"
        if status == 429 or status >= 500:
            headers = getattr(exc, "headers", None) or {}
            delay = retry_after(headers.get("Retry-After") if hasattr(headers, "get") else None)
            return TransientProviderError(
                text, provider=PROVIDER, code=str(status), retry_after=delay, status=status
            )
        return PermanentProviderError(text, provider=PROVIDER, code=str(status), status=status)
    if isinstance(exc, TimeoutError):
        return TransientProviderError("SendGrid did not answer in time", provider=PROVIDER)
    return TransientProviderError(
        f"SendGrid unreachable: {type(exc).__name__}", provider=PROVIDER, unsent=never_reached(exc)
    )


def _first_message(body: bytes | str | None) -> str:
    try:
        errors = json.loads(body or b"{}").get("errors") or []
        return (
            "; ".join(
                f"{e.get('field')}: {e.get('message')}" if e.get("field") else str(e.get("message"))
                for e in errors
            )
            or "error"
        )
    except (ValueError, AttributeError):
        return "error"
