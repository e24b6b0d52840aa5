"""Background workers are restarted when they fail and stopped together."""

from __future__ import annotations

import asyncio

from core.events import Alert, EventBus
from core.supervisor import Supervisor


async def test_a_failing_worker_is_restarted_and_reported() -> None:
    bus = EventBus()
    runs: list[int] = []

    async def flaky(stop: asyncio.Event) -> None:
        runs.append(1)
        if len(runs) < 3:
            raise RuntimeError("provider down")
        await stop.wait()

    supervisor = Supervisor(bus, max_backoff=0.01)
    supervisor.add("flaky", flaky)
    async with bus.subscribe() as queue:
        await supervisor.start()
        for _ in range(200):
            if len(runs) >= 3:
                break
            await asyncio.sleep(0.01)
        await supervisor.stop()
        alerts = [queue.get_nowait() for _ in range(queue.qsize())]
    assert len(runs) == 3
    assert alerts and all(isinstance(a, Alert) and "provider down" in a.message for a in alerts)


async def test_stop_cancels_a_worker_that_ignores_the_stop_event() -> None:
    async def stubborn(stop: asyncio.Event) -> None:
        await asyncio.sleep(3600)

    supervisor = Supervisor()
    supervisor.add("stubborn", stubborn)
    await supervisor.start()
    assert supervisor.running
    await supervisor.stop(timeout=0.05)
    assert not supervisor.running
