"""Jobs that must run once per tenant (reminders, analytics warm-up, housekeeping), in one process.

In team mode every agent's app starts an engine, but planning reminders or re-aggregating today's
analytics in fifty processes at once only loads the database. Each such job is guarded by a
PostgreSQL advisory lock taken on the process's live-link connection (so it costs no connection
of its own): the process that holds the lock runs the job; the others try again every few
seconds, all of a process's jobs in one statement (one transaction per round, whatever the
number of jobs: fifty waiting agents must not load the server). When the holder dies or loses
its connection, PostgreSQL releases the lock and another process takes the job over on its next
try. On SQLite (one process) the job simply runs.

    lease = JobLease(bridge)
    supervisor.add("reminders", lease.exclusive("reminders", reminders.follow))
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from core.team.pg_listen import NotifyBridge

log = logging.getLogger(__name__)

Job = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


def lock_key(channel: str, job: str) -> int:
    """A signed 64-bit advisory lock key for ``job`` of the tenant behind ``channel``."""
    digest = hashlib.sha1(f"{channel}:{job}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class JobLease:
    """Runs each named job in at most one process of the tenant at a time.

    Args:
        bridge: this process's live link; its connection holds the locks.
        retry: seconds between two tries to take a job another process holds.
        grace: seconds to wait after taking a lock before starting the job, so that a previous
            holder whose connection just died has noticed and stopped its own run.
    """

    def __init__(self, bridge: NotifyBridge, *, retry: float = 5.0, grace: float = 1.0) -> None:
        self.bridge = bridge
        self.retry = retry
        self.grace = grace
        self.held: set[str] = set()
        """The jobs this process runs now (for the status line and tests)."""
        self.rounds = 0
        """Statements sent to take locks (for tests: one per round, not one per job)."""
        self._waiting: dict[int, asyncio.Future[int | None]] = {}
        self._round: asyncio.Task[None] | None = None

    def exclusive(self, name: str, job: Job) -> Job:
        """``job`` wrapped so that it runs only while this process holds its lease."""
        if not self.bridge.enabled:
            return job

        async def run(stop: asyncio.Event) -> None:
            if not self.bridge.started:  # a process outside the team's live link: no one to
                await job(stop)  # share the job with (a script, a test's service)
                return
            while not stop.is_set():
                lost = self.bridge.connection_lost
                generation = await self._take(lock_key(self._channel, name))
                if generation is None:
                    await _wait(stop, self.retry)
                    continue
                await _wait(stop, self.grace)
                log.info("job %s: this process holds the lease", name)
                self.held.add(name)
                try:
                    await self._run_while_held(job, stop, generation, lost)
                finally:
                    self.held.discard(name)
                    await self.bridge.advisory_unlock(lock_key(self._channel, name), generation)

        return run

    async def _take(self, key: int) -> int | None:
        """Try ``key`` in the same statement as the other jobs trying now (see ``_try_round``)."""
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._waiting[key] = future
        if self._round is None:
            self._round = asyncio.create_task(self._try_round())
        return await future

    async def _try_round(self) -> None:
        # The jobs of a process retry on the same period: a short window gathers them all.
        await asyncio.sleep(min(0.05, self.retry / 2))
        waiting, self._waiting, self._round = self._waiting, {}, None
        self.rounds += 1
        taken, generation = await self.bridge.try_advisory_locks(list(waiting))
        for key, future in waiting.items():
            if not future.done():
                future.set_result(generation if key in taken else None)
            elif key in taken and generation is not None:  # its job stopped meanwhile
                await self.bridge.advisory_unlock(key, generation)

    @property
    def _channel(self) -> str:
        return self.bridge.channel or f"tenant-{self.bridge.tenant_id}"

    async def _run_while_held(
        self, job: Job, stop: asyncio.Event, generation: int, lost: asyncio.Event
    ) -> None:
        """Run ``job`` until ``stop`` is set or the connection holding the lock is lost."""
        inner = asyncio.Event()
        task = asyncio.create_task(job(inner))
        watchers = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())]
        try:
            if self.bridge.generation == generation:
                await asyncio.wait({task, *watchers}, return_when=asyncio.FIRST_COMPLETED)
            inner.set()  # stopping, or the lock went with the connection: another takes over
            await task
        finally:
            for watcher in watchers:
                watcher.cancel()
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
