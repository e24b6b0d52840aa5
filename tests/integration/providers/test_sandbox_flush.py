"""The sandbox posts its webhooks one after the other by default, or several at once as a
provider's many senders do (``post_concurrency``: the end-to-end bench's provider scale)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from providers.sandbox import start_sandbox
from providers.sandbox.core import Sandbox, Webhook


class _Receiver:
    """Answers each webhook once ``expected`` are in flight together (or after a short wait)."""

    def __init__(self) -> None:
        self.expected = 1
        self.in_flight = 0
        self.most = 0
        self.bodies: list[bytes] = []
        self.met = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        if self.in_flight >= self.expected:
            self.met.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.met.wait(), 0.3)
        self.bodies.append(await request.read())
        self.in_flight -= 1
        return web.Response(status=200)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[_Receiver, str]]:
    found = _Receiver()
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield found, f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    await runner.cleanup()


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    box = await start_sandbox(None)
    yield box
    await box.stop()


def _queue(sandbox: Sandbox, url: str, count: int) -> None:
    for n in range(count):
        sandbox.enqueue(Webhook("sendgrid", "events", url, {}, str(n).encode()))


async def test_webhooks_go_one_after_the_other_by_default(sandbox, receiver) -> None:
    found, url = receiver
    found.expected = 2
    _queue(sandbox, url, 4)
    posted = await sandbox.flush()
    assert found.most == 1
    assert found.bodies == [b"0", b"1", b"2", b"3"]
    assert [webhook.status for webhook in posted] == [200] * 4


async def test_webhooks_go_several_at_once_at_provider_scale(sandbox, receiver) -> None:
    found, url = receiver
    found.expected = 8
    sandbox.post_concurrency = 8
    _queue(sandbox, url, 16)
    posted = await asyncio.wait_for(sandbox.flush(), 10)
    assert found.most == 8
    assert sorted(found.bodies) == sorted(str(n).encode() for n in range(16))
    assert [webhook.status for webhook in posted] == [200] * 16
