"""The SQLite driver's connections, with a ``stop()`` that can safely be called twice.

aiosqlite 0.22 runs each connection in a thread that ends at the first "stop" it reads. When a
query is cancelled (a worker cancelled as the app quits), SQLAlchemy closes the connection
gracefully in a shielded task and, if cancelled again, stops it by force: the graceful close then
calls ``stop()`` a second time and waits for an answer from the thread that has already ended,
so the task never finishes and the process hangs on exit (omnilib/aiosqlite#369, #371). Here
the second ``stop()`` is a no-op, which leaves nothing waiting.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import aiosqlite

#: aiosqlite's default number of rows fetched per round trip to the connection's thread.
ITER_CHUNK_SIZE = 64


class _Connection(aiosqlite.Connection):
    def stop(self) -> asyncio.Future[Any] | None:
        """Stop the connection's thread, once; later calls wait for nothing."""
        if not self._running:
            return None
        return super().stop()


def connect(database: str, *args: Any, **kwargs: Any) -> aiosqlite.Connection:
    """What ``aiosqlite.connect`` returns, for SQLAlchemy's ``async_creator_fn``."""

    def connector() -> sqlite3.Connection:
        return sqlite3.connect(database, *args, **kwargs)

    connection = _Connection(connector, ITER_CHUNK_SIZE)
    connection._thread.daemon = True  # as SQLAlchemy's own connect does
    return connection
