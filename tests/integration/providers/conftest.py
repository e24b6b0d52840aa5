"""A running sandbox and a capture server standing in for the relay."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from core.channels.adapter import AdapterConfig
from providers.sandbox import start_sandbox
from providers.sandbox.core import Sandbox
from tests.webhook_recorder import WebhookRecorder

Relay = WebhookRecorder


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
