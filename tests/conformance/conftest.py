"""The conformance run: a sandbox, a relay stand-in, the specs, and the table at the end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import cache
from typing import Any

import pytest
from aiohttp import web

from core.channels.adapter import AdapterConfig
from providers.sandbox import start_sandbox
from providers.sandbox.core import Sandbox
from tests.conformance.openapi import Spec
from tests.conformance.report import REPORT
from tests.webhook_recorder import WebhookRecorder


@cache
def spec(filename: str) -> Spec:
    """A spec of ``specs/``, loaded once per run."""
    return Spec(filename)


@pytest.fixture
async def relay() -> AsyncIterator[WebhookRecorder]:
    capture = WebhookRecorder()
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
async def sandbox(relay: WebhookRecorder) -> AsyncIterator[Sandbox]:
    box = await start_sandbox(relay.url)
    box.hang_seconds = 0.3
    yield box
    await box.stop()


def config_for(
    sandbox: Sandbox, relay: WebhookRecorder, adapter: str, provider: str, **kw: Any
) -> AdapterConfig:
    """An adapter configuration pointing at the sandbox."""
    return AdapterConfig(
        base_url=sandbox.base_urls[provider],
        credentials=sandbox.credentials[provider],
        options=sandbox.options[adapter],
        callback_url=relay.url,
        **kw,
    )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the conformance table (and the published-spec defects met) after the run."""
    if not REPORT.checks:
        return
    terminalreporter.section("provider conformance (tests/conformance)")
    terminalreporter.write_line(REPORT.table())
    notes = REPORT.notes()
    if notes:
        terminalreporter.write_line("")
        terminalreporter.write_line("Published-spec defects (not counted as differences):")
        for note in notes:
            terminalreporter.write_line(f"  - {note}")
