"""Taking turns at SQLite's single write lock inside one process, the urgent writer first.

SQLite lets one connection write at a time; a second one waits in SQLite's busy handler, which
sleeps 1, 2, 5, 10, 20… ms between tries. In the relay, the writer that acknowledges webhooks
must not sleep there behind ingest: both take turns here instead, in the event loop, and
ingest ends its transaction early as soon as the urgent writer is waiting.

    async with db.gate.urgent():        # the relay's group commit
        ...
    async with db.gate.background():    # an ingest transaction
        ...
        if db.gate.wanted:              # commit now, let the urgent writer in
            ...

On PostgreSQL (row locks, many writers) the gate lets everyone through at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class WriteGate:
    """One writer at a time in this process; ``urgent`` writers are let in first."""

    def __init__(self, *, serial: bool) -> None:
        self.serial = serial
        self._lock = asyncio.Lock()
        self._urgent = 0
        #: Whether an urgent writer of another process waits for SQLite's write lock (the
        #: relay's, told to the ingest process it runs: ``core.relay.ingest_process``).
        self.wanted_elsewhere = False

    @property
    def wanted(self) -> bool:
        """Whether an urgent writer is waiting for the gate, or for the database's write lock
        in another process (a background one should yield)."""
        return self._urgent > 0 or self.wanted_elsewhere

    @asynccontextmanager
    async def urgent(self) -> AsyncIterator[None]:
        """Hold the gate for a write that someone is waiting on (a webhook's 2xx)."""
        if not self.serial:
            yield
            return
        self._urgent += 1
        try:
            await self._lock.acquire()
        finally:
            self._urgent -= 1
        try:
            yield
        finally:
            self._lock.release()

    @asynccontextmanager
    async def background(self) -> AsyncIterator[None]:
        """Hold the gate for background work (check ``wanted`` often and let go when it is)."""
        if not self.serial:
            yield
            return
        async with self._lock:
            yield
