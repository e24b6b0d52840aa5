"""Give PostgreSQL connections back when a process has not used them for a while.

A team of fifty agents shares one server whose ``max_connections`` is typically 100. An agent's
app spends most of its day idle, so its pooled connection is closed after ``seconds`` unused and
opened again at the next query (a few milliseconds, once per burst of activity). SQLAlchemy's
pools keep their connections open forever; this closes them through the public API (check each
out, close it, invalidate its pool record) only when nobody else holds one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)


class IdleConnectionCloser:
    """Closes ``engine``'s pooled connections once none has been used for ``seconds``."""

    def __init__(self, engine: AsyncEngine, seconds: float) -> None:
        self.engine = engine
        self.seconds = seconds
        self.closed = 0
        """How many connections were closed for idleness (for tests and the bench)."""
        self._timer: asyncio.TimerHandle | None = None
        self._idle_open = False  # a connection was used since the last closing
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        event.listen(engine.sync_engine, "checkout", self._on_checkout)
        event.listen(engine.sync_engine, "checkin", self._on_checkin)

    def _on_checkout(self, *_args: Any) -> None:
        if self._closing:
            return
        self._idle_open = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_checkin(self, *_args: Any) -> None:
        if self._closing:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_later(self.seconds, self._due)

    def _due(self) -> None:
        self._timer = None
        pool: Any = self.engine.pool
        if self._idle_open and pool.checkedout() == 0 and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._close_idle())

    async def _close_idle(self) -> None:
        pool: Any = self.engine.pool
        self._closing = True
        try:
            async with contextlib.AsyncExitStack() as stack:
                for _ in range(pool.checkedin()):
                    conn = await stack.enter_async_context(self.engine.connect())
                    raw = await conn.get_raw_connection()
                    driver = raw.driver_connection
                    with contextlib.suppress(Exception):
                        if driver is not None:
                            await driver.close(timeout=2)
                    await conn.invalidate()
                    self.closed += 1
            self._idle_open = False
        except Exception as exc:  # closing is an optimisation: never let it fail a caller
            log.info("idle connections not closed: %s", type(exc).__name__)
        finally:
            self._closing = False
            self._task = None

    async def close(self) -> None:
        """Stop watching (the engine is being disposed)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
