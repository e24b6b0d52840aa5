"""twilio's aiohttp client, remembering the last response's headers (for ``Retry-After``)."""

from __future__ import annotations

from base64 import b64encode
from typing import Any

from twilio.http.async_http_client import AsyncTwilioHttpClient


class RecordingHttpClient(AsyncTwilioHttpClient):
    """``AsyncTwilioHttpClient`` that keeps ``last_headers``; build it inside a running loop."""

    last_headers: dict[str, str]

    def __init__(self) -> None:
        super().__init__()
        self.last_headers = {}

    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        """Send, then keep the response headers (the SDK drops them when it raises).

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
        self.last_headers = dict(response.headers or {})
        return response
