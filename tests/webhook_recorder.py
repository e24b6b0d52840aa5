"""A stand-in for the relay in provider tests: records every webhook the sandbox posts."""

from __future__ import annotations

from aiohttp import web

from core.channels.adapter import WebhookRequest


class WebhookRecorder:
    """Keeps each posted request as the adapters will see it; answers like an empty TwiML."""

    def __init__(self) -> None:
        self.requests: list[WebhookRequest] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(
            WebhookRequest(
                method=request.method,
                url=str(request.url),
                headers={k.lower(): v for k, v in request.headers.items()},
                body=await request.read(),
                query=dict(request.query),
            )
        )
        return web.Response(text="<Response/>", content_type="text/xml")

    def at(self, path: str) -> list[WebhookRequest]:
        """The requests posted to ``path`` (query ignored)."""
        return [r for r in self.requests if r.url.split("?")[0].endswith(path)]
