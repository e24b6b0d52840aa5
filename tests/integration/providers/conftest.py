"""A running sandbox and a capture server standing in for the relay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from core.channels.adapter import AdapterConfig, WebhookRequest
from providers.sandbox import start_sandbox
from providers.sandbox.core import Sandbox


class Relay:
    """Records every webhook the sandbox posts, as the adapters will see it."""

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
        return [r for r in self.requests if r.url.split("?")[0].endswith(path)]


@pytest.fixture
async def relay() -> AsyncIterator[Relay]:
    capture = Relay()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", capture.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    capture.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield capture
    await runner.cleanup()


@pytest.fixture
async def sandbox(relay: Relay) -> AsyncIterator[Sandbox]:
    box = await start_sandbox(relay.url)
    yield box
    await box.stop()


def config_for(
    sandbox: Sandbox, relay: Relay, adapter: str, provider: str, **kw: Any
) -> AdapterConfig:
    """An adapter configuration pointing at the sandbox."""
    return AdapterConfig(
        base_url=sandbox.base_urls[provider],
        credentials=sandbox.credentials[provider],
        options=sandbox.options[adapter],
        callback_url=relay.url,
        **kw,
    )
