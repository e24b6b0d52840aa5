"""The durable log of raw provider events, written with group commit.

Every request waits until its event is committed; requests arriving within a couple of
milliseconds share one transaction, which keeps "durable before 2xx" and still batches. On an
SQLite file a batch is written by a thread of its own with the ``sqlite3`` module
(``core.relay.sqlite_log``: one hop per batch instead of one per statement); on PostgreSQL
through a session.

    writer = EventWriter(db)
    await writer.start()
    stored = await writer.store(RawEvent(...))   # returns once committed
    await writer.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import sqlite3
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.enums import InboundEventStatus
from core.relay.sqlite_log import SqliteEventLog
from core.sanitize import storable_as_is
from core.storage import tables as t
from core.storage.database import Database
from core.storage.types import utcnow

log = logging.getLogger(__name__)

E = t.InboundEventRow
#: The events table, typed ``Table`` (an ORM class's ``__table__`` is typed as a FROM clause).
EVENTS = t.Base.metadata.tables[E.__tablename__]
MAX_DEDUPE_KEY = 200


@dataclass(frozen=True, slots=True)
class RawEvent:
    """One accepted request, as it will be stored."""

    tenant_id: int | None
    provider: str
    endpoint: str
    dedupe_key: str
    body: bytes
    content_type: str | None = None
    headers: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Stored:
    """Where an event went: its id, and whether it was already there (a provider retry)."""

    id: int
    duplicate: bool


def dedupe_key(keys: Sequence[str], body: bytes) -> str:
    """One key for a request's key set.

    A hash when long, when the adapter gave none, or when a key holds what a database cannot
    store (a NUL in a provider id must not make the event unstorable).
    """
    if not keys:
        return "body:" + hashlib.sha256(body).hexdigest()
    joined = keys[0] if len(keys) == 1 else "|".join(sorted(set(keys)))
    if len(joined) <= MAX_DEDUPE_KEY and storable_as_is(joined):
        return joined
    return "keys:" + hashlib.sha256(joined.encode()).hexdigest()


class EventWriter:
    """Stores raw events, committing them in small shared batches.

    ``on_commit`` callbacks run after each commit that stored something new (to wake the
    ingest worker and long-polling pullers).
    """

    def __init__(self, db: Database, *, linger: float = 0.002, max_batch: int = 256) -> None:
        self.db = db
        self.linger = linger
        self.max_batch = max_batch
        self.on_commit: list[Callable[[], None]] = []
        #: Called with True when a batch starts waiting for the write lock another process
        #: holds (SQLite), with False once it has it (the relay's ingest process then yields).
        self.on_lock_wait: list[Callable[[bool], None]] = []
        #: Requests waiting for their event to be committed, in arrival order.
        self._pending: deque[tuple[RawEvent, asyncio.Future[Stored]]] = deque()
        #: Set while the committing task waits for a first request (a request wakes it).
        self._idle: asyncio.Future[None] | None = None
        self._writing = False
        self._task: asyncio.Task[None] | None = None
        #: On an SQLite file, the thread that writes the batches (``core.relay.sqlite_log``).
        self._log: SqliteEventLog | None = None

    async def start(self) -> None:
        """Start the committing task."""
        if self._task is None:
            self._log = SqliteEventLog.of(self.db)
            if self._log is not None:
                self._log.on_wait = self._from_thread(asyncio.get_running_loop())
            self._task = asyncio.create_task(self._run(), name="relay-event-writer")

    async def close(self) -> None:
        """Commit what is queued, then stop."""
        if self._task is None:
            return
        while self._pending or self._writing:
            await asyncio.sleep(self.linger or 0.001)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._log is not None:
            await self._log.close()
            self._log = None

    def _from_thread(self, loop: asyncio.AbstractEventLoop) -> Callable[[bool], None]:
        """The writer thread's lock waits, told to ``on_lock_wait`` in the event loop."""

        def told(waiting: bool) -> None:
            loop.call_soon_threadsafe(self._lock_wait, waiting)

        return told

    def _lock_wait(self, waiting: bool) -> None:
        for callback in self.on_lock_wait:
            callback(waiting)

    async def store(self, event: RawEvent) -> Stored:
        """Store ``event`` and return once it is committed.

        Raises:
            StorageError and driver errors: the database refused the batch; nothing was stored.
        """
        if self._task is None:
            await self.start()
        # A future of its own (not the batch's): a request cancelled while it waits must not
        # cancel the others'.
        future: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._pending.append((event, future))
        idle = self._idle
        if idle is not None:  # the first request since the last batch wakes the writer
            self._idle = None
            if not idle.done():
                idle.set_result(None)
        return await future

    async def _run(self) -> None:
        pending = self._pending
        while True:
            if not pending:
                self._idle = asyncio.get_running_loop().create_future()
                await self._idle
            if self.linger:
                await asyncio.sleep(self.linger)
            batch = [pending.popleft() for _ in range(min(len(pending), self.max_batch))]
            self._writing = True
            try:
                await self._commit(batch)
            finally:
                self._writing = False

    async def _commit(self, batch: list[tuple[RawEvent, asyncio.Future[Stored]]]) -> None:
        try:
            results = await self._write([event for event, _ in batch])
        except Exception as exc:  # the database failed: every waiting request gets a 5xx
            log.error("storing %d webhook events failed: %s", len(batch), exc)
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
        if any(not r.duplicate for r in results):
            for callback in self.on_commit:
                callback()

    async def _write(self, events: list[RawEvent]) -> list[Stored]:
        # Three statements per batch, whatever its size: which keys exist, insert the others,
        # read back every id. ON CONFLICT covers another relay inserting the same key meanwhile.
        if self._log is None:
            return await self._write_session(events)
        async with self.db.gate.urgent():
            try:
                ids, existing = await self._log.write(events)
            except sqlite3.Error as exc:
                raise (self.db.fault(exc) or exc) from exc
        return _results(events, ids, existing)

    async def _write_session(self, events: list[RawEvent]) -> list[Stored]:
        """``_write`` through a session (PostgreSQL, in-memory SQLite)."""
        keys = {(e.provider, e.dedupe_key) for e in events}
        async with self.db.gate.urgent(), self.db.session() as session:
            existing = await _ids(session, keys)
            fresh: dict[tuple[str, str], RawEvent] = {}
            for event in events:
                key = (event.provider, event.dedupe_key)
                if key not in existing:
                    fresh.setdefault(key, event)
            if fresh:
                insert = pg_insert if self.db.dialect == "postgresql" else sqlite_insert
                # On the table, not the ORM class: a plain executemany, without the ORM's
                # per-row bulk-insert bookkeeping.
                statement = insert(EVENTS).on_conflict_do_nothing(
                    index_elements=["provider", "dedupe_key"]
                )
                await session.execute(statement, [_values(e) for e in fresh.values()])
            ids = await _ids(session, keys)
        return _results(events, ids, set(existing))


def _results(
    events: list[RawEvent], ids: dict[tuple[str, str], int], existing: set[tuple[str, str]]
) -> list[Stored]:
    """Each event's id, a duplicate when its key was stored before or earlier in the batch."""
    results, seen = [], set(existing)
    for event in events:
        key = (event.provider, event.dedupe_key)
        results.append(Stored(ids[key], duplicate=key in seen))
        seen.add(key)
    return results


def _values(event: RawEvent) -> dict[str, Any]:
    return {
        "tenant_id": event.tenant_id,
        "provider": event.provider,
        "endpoint": event.endpoint,
        "dedupe_key": event.dedupe_key,
        "content_type": (event.content_type or "")[:200] or None,
        "headers": event.headers,
        "body": event.body,
        "status": InboundEventStatus.PENDING,
        "received_at": utcnow(),
    }


async def _ids(session: AsyncSession, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    query = select(E.provider, E.dedupe_key, E.id).where(
        E.dedupe_key.in_({key for _, key in keys}), E.provider.in_({p for p, _ in keys})
    )
    rows = (await session.execute(query)).all()
    return {(p, k): i for p, k, i in rows if (p, k) in keys}
