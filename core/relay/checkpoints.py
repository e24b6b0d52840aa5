"""WAL checkpoints of the relay's event log, in a thread of their own, off the writer's commits.

SQLite checkpoints a WAL file by itself in the commit that takes it past 1,000 pages, and in
every later commit while it cannot finish (a reader still uses older pages): the writer thread
then copies pages into the database file and waits for its ``fsync`` before the batch's requests
get their 2xx. With ingest writing conversations and their indexes beside the relay, those
copies are scattered and large: measured on the large bench dataset, commits of the event log
took up to 100–240 ms instead of 0.2 ms. So the log's writer turns SQLite's automatic checkpoint
off and this thread runs a passive one (it never waits for readers or writers) every
``CHECKPOINT_SECONDS`` while batches are committed.

    checkpoints = Checkpoints(path)
    checkpoints.after_commit()      # in the event loop, after each committed batch
    await checkpoints.close()
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger(__name__)
#: Seconds between two checkpoints while batches are committed (the relay storing 4,000
#: events/s writes about 800 pages of WAL in that time, SQLite's own threshold being 1,000).
CHECKPOINT_SECONDS = 0.5


class Checkpoints:
    """Passive checkpoints of an SQLite file, one at a time, in a dedicated thread."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="relay-checkpoint")
        self._connection: sqlite3.Connection | None = None
        self._running: Future[None] | None = None
        self._last = time.monotonic()

    def after_commit(self) -> None:
        """Start a checkpoint if none runs and the last one began ``CHECKPOINT_SECONDS`` ago."""
        now = time.monotonic()
        if (self._running is not None and not self._running.done()) or (
            now - self._last < CHECKPOINT_SECONDS
        ):
            return
        self._last = now
        self._running = self._executor.submit(self._checkpoint)

    async def close(self) -> None:
        """Wait for the checkpoint in progress, close the connection, end the thread."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._disconnect)
        self._executor.shutdown(wait=False)

    # -- in the checkpoint thread --------------------------------------------------------------

    def _checkpoint(self) -> None:
        try:
            if self._connection is None:
                self._connection = sqlite3.connect(self.path, isolation_level=None)
            self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:  # the next commit's checkpoint tries again
            log.warning("checkpoint of %s failed: %s", self.path, exc)

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
