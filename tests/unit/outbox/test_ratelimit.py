"""The token bucket holds calls to the adapter's rate, and the worker loop stops when told."""

from __future__ import annotations

import asyncio

from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, MessageStatus
from core.outbox.ratelimit import RateLimiters, TokenBucket
from core.outbox.worker import OutboxWorker
from tests.unit.outbox.conftest import Scene
from tests.unit.outbox.fakes import FakeAdapter, FakeRuntime


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_bucket_spaces_calls_at_the_rate() -> None:
    time = FakeTime()
    bucket = TokenBucket(2.0, monotonic=time.monotonic, sleep=time.sleep)
    waits = [await bucket.acquire() for _ in range(5)]
    assert waits[0] == 0
    assert all(abs(w - 0.5) < 1e-9 for w in waits[1:])
    assert abs(time.now - 2.0) < 1e-9  # five calls at 2/s: the last at t = 2 s


async def test_bucket_allows_a_burst_then_the_rate() -> None:
    time = FakeTime()
    bucket = TokenBucket(1.0, burst=3, monotonic=time.monotonic, sleep=time.sleep)
    waits = [await bucket.acquire() for _ in range(4)]
    assert waits[:3] == [0, 0, 0] and abs(waits[3] - 1.0) < 1e-9


async def test_limiters_use_the_adapter_rate(scene: Scene) -> None:
    time = FakeTime()
    sms = FakeAdapter(Channel.SMS)
    sms.capabilities = sms.capabilities.__class__(max_length=None, rate_per_second=1.0)
    limiters = RateLimiters(monotonic=time.monotonic, sleep=time.sleep)
    for i in range(3):
        await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text=str(i)))
    await OutboxWorker(scene.service.ctx, FakeRuntime(sms), limiters=limiters).drain()
    assert len(sms.sent) == 3
    assert abs(sum(time.slept) - 2.0) < 1e-9  # one per second


async def test_run_forever_sends_then_stops(scene: Scene) -> None:
    sms = FakeAdapter(Channel.SMS)
    message = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    stop = asyncio.Event()
    worker = OutboxWorker(scene.service.ctx, FakeRuntime(sms), poll_seconds=0.01)
    task = asyncio.create_task(worker.run_forever(stop))
    for _ in range(200):
        if sms.sent:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert (await scene.service.messages.get(message.id)).status == MessageStatus.SENT
