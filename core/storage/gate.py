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

When ingest runs in a process of its own (``coccinelle relay`` on SQLite), both processes'
gates share ``SharedSignals`` (a small memory-mapped file): the relay's urgent writes are seen
as ``wanted`` by the ingest process, which then commits and waits, and the relay tells it when
webhooks are being answered (``busy``).
"""

from __future__ import annotations

import asyncio
import mmap
import os
import struct
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

#: How often a background writer looks again while the other process's urgent writer works.
SHARED_POLL_SECONDS = 0.001
_SLOTS = struct.Struct("=ii")  # urgent writers waiting or writing; webhooks being answered


class SharedSignals:
    """Two counters shared by the relay and its ingest process through a mapped file."""

    def __init__(self, path: Path, *, create: bool = False) -> None:
        self.path = path
        flags = os.O_RDWR | (os.O_CREAT if create else 0)
        fd = os.open(path, flags, 0o600)
        try:
            if create:
                os.ftruncate(fd, _SLOTS.size)
            self._map = mmap.mmap(fd, _SLOTS.size)
        finally:
            os.close(fd)

    @classmethod
    def create(cls) -> SharedSignals:
        """New signals in a private temporary file (``close`` removes it)."""
        folder = "/dev/shm" if os.path.isdir("/dev/shm") else None
        fd, name = tempfile.mkstemp(prefix="coccinelle-gate-", dir=folder)
        os.close(fd)
        return cls(Path(name), create=True)

    @property
    def urgent(self) -> int:
        """Urgent writers waiting for or holding SQLite's write lock."""
        return int(_SLOTS.unpack_from(self._map)[0])

    @property
    def busy(self) -> int:
        """Webhook requests being answered."""
        return int(_SLOTS.unpack_from(self._map)[1])

    def add_urgent(self, delta: int) -> None:
        """Count an urgent writer in (1) or out (-1); only the relay's process writes it."""
        _SLOTS.pack_into(self._map, 0, self.urgent + delta, self.busy)

    def set_busy(self, count: int) -> None:
        """Say how many webhook requests are being answered (the relay's process only)."""
        _SLOTS.pack_into(self._map, 0, self.urgent, count)

    def close(self, *, remove: bool = False) -> None:
        """Unmap; ``remove`` deletes the file (its creator does)."""
        self._map.close()
        if remove:
            self.path.unlink(missing_ok=True)


class WriteGate:
    """One writer at a time in this process; ``urgent`` writers are let in first."""

    def __init__(self, *, serial: bool) -> None:
        self.serial = serial
        self._lock = asyncio.Lock()
        self._urgent = 0
        #: Shared with the other process of a relay whose ingest runs apart (None: alone).
        self.shared: SharedSignals | None = None

    @property
    def wanted(self) -> bool:
        """Whether an urgent writer is waiting for the gate (a background one should yield),
        in this process or, when shared, in the other one."""
        return self._urgent > 0 or (self.shared is not None and self.shared.urgent > 0)

    @asynccontextmanager
    async def urgent(self) -> AsyncIterator[None]:
        """Hold the gate for a write that someone is waiting on (a webhook's 2xx)."""
        if not self.serial:
            yield
            return
        shared = self.shared
        if shared is not None:  # until committed: the ingest process lets go of the lock
            shared.add_urgent(1)
        try:
            self._urgent += 1
            try:
                await self._lock.acquire()
            finally:
                self._urgent -= 1
            try:
                yield
            finally:
                self._lock.release()
        finally:
            if shared is not None:
                shared.add_urgent(-1)

    @asynccontextmanager
    async def background(self) -> AsyncIterator[None]:
        """Hold the gate for background work (check ``wanted`` often and let go when it is)."""
        if not self.serial:
            yield
            return
        async with self._lock:
            while self.shared is not None and self.shared.urgent > 0:
                await asyncio.sleep(SHARED_POLL_SECONDS)
            yield
