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


class _Refusing:
    """Answers 503 (a relay whose database is locked) to the first ``refusals`` posts."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.stored: list[bytes] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.refusals:
            self.refusals -= 1
            return web.Response(status=503, text="the event could not be stored; retry later")
        self.stored.append(body)
        return web.Response(status=200)


@pytest.fixture
async def refusing() -> AsyncIterator[tuple[_Refusing, str]]:
    found = _Refusing(refusals=2)
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield found, f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    await runner.cleanup()


async def test_a_webhook_refused_for_now_is_posted_again_later(sandbox, refusing) -> None:
    """Before: a 503 (the relay's "database is locked") dropped the webhook, and the message's
    status was never applied (the end-to-end bench stalled with messages left "sent")."""
    found, url = refusing
    sandbox.webhook_retry_seconds = 0.05
    _queue(sandbox, url, 1)
    (first,) = await sandbox.flush()
    assert first.status == 503 and found.stored == []
    for _ in range(50):  # the next flushes, as the auto-flush does every second
        await asyncio.sleep(0.05)
        await sandbox.flush()
        if found.stored:
            break
    assert found.stored == [b"0"]  # once, on its third try
    assert (first.status, first.attempts, sandbox.retrying) == (200, 3, [])


async def test_a_webhook_refused_on_every_try_is_given_up_loudly(
    sandbox, refusing, caplog: pytest.LogCaptureFixture
) -> None:
    found, url = refusing
    sandbox.webhook_retry_seconds, sandbox.webhook_attempts = 0.0, 2
    _queue(sandbox, url, 1)
    await sandbox.flush()
    (second,) = await sandbox.flush()
    assert (second.status, second.attempts, sandbox.retrying) == (503, 2, [])
    assert "given up after 2 tries" in caplog.text
    assert found.stored == []
