"""Running the core's background workers (relay, ingest, outbox, reminders…) side by side.

A worker that fails is logged (redacted) and restarted after a growing pause, so one bad event
or a provider outage never takes the app down; the agent sees a notice through the event bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.events import Alert, EventBus
from core.pacing import Backoff

log = logging.getLogger(__name__)

WorkerFn = Callable[[asyncio.Event], Awaitable[None]]


@dataclass
class _Worker:
    name: str
    run: WorkerFn
    task: asyncio.Task[None] | None = None


class Supervisor:
    """Starts named workers, restarts them when they fail, stops them all together.

    A worker is ``async def run(stop: asyncio.Event) -> None`` that returns when ``stop`` is set.
    """

    def __init__(self, bus: EventBus | None = None, max_backoff: float = 30.0) -> None:
        self._bus = bus
        self._max_backoff = max_backoff
        self._workers: list[_Worker] = []
        self._stop = asyncio.Event()

    def add(self, name: str, run: WorkerFn) -> None:
        """Register a worker (started by ``start``, or now if already started)."""
        worker = _Worker(name, run)
        self._workers.append(worker)
        if self.running:
            worker.task = asyncio.create_task(self._keep_alive(worker), name=name)

    @property
    def running(self) -> bool:
        """Whether ``start`` was called and ``stop`` not yet."""
        return any(w.task is not None for w in self._workers) and not self._stop.is_set()

    async def start(self) -> None:
        """Start every registered worker."""
        self._stop.clear()
        for worker in self._workers:
            if worker.task is None:
                worker.task = asyncio.create_task(self._keep_alive(worker), name=worker.name)

    async def _keep_alive(self, worker: _Worker) -> None:
        backoff = Backoff(0.5, self._max_backoff)
        while not self._stop.is_set():
            try:
                await worker.run(self._stop)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                pause = backoff.next()
                log.exception("worker %s failed; restarting in %.1f s", worker.name, pause)
                if self._bus is not None:
                    self._bus.publish(Alert(f"worker:{worker.name}", f"{worker.name}: {exc}"))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=pause)

    async def stop(self, timeout: float = 5.0) -> None:
        """Ask every worker to stop, then cancel those still running after ``timeout``."""
        self._stop.set()
        tasks = [w.task for w in self._workers if w.task is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for worker in self._workers:
            worker.task = None
