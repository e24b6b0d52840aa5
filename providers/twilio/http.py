"""twilio's aiohttp client, telling each call the headers of its own response (``Retry-After``).

Up to 64 sends share one client at once, so "the last response's headers" would be another
send's: a call that wants its headers opens a ``response_headers()`` scope, and the response
read inside it (in the same task or a task started from it) fills that scope's dict.
"""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from twilio.http.async_http_client import AsyncTwilioHttpClient

_HEADERS: ContextVar[dict[str, str] | None] = ContextVar("twilio_response_headers", default=None)


@contextmanager
def response_headers() -> Iterator[dict[str, str]]:
    """A dict the headers of the response read within this scope are written into."""
    headers: dict[str, str] = {}
    token = _HEADERS.set(headers)
    try:
        yield headers
    finally:
        _HEADERS.reset(token)


class RecordingHttpClient(AsyncTwilioHttpClient):
    """``AsyncTwilioHttpClient`` that hands each response's headers to the calling scope (the
    SDK drops them when it raises); build it inside a running loop."""

    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        """Send, then give the response headers to the open ``response_headers()`` scope.

        Basic auth goes as a header: aiohttp deprecates its ``auth=`` argument.
        """
        auth = kwargs.pop("auth", None)
        if auth is not None:
            headers = dict(kwargs.get("headers") or {})
            headers["Authorization"] = (
                "Basic " + b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            )
            kwargs["headers"] = headers
        response = await super().request(method, url, *args, **kwargs)
        scope = _HEADERS.get()
        if scope is not None:
            scope.clear()
            scope.update(response.headers or {})
        return response
