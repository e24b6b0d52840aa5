"""The event log of an SQLite file, written by one thread of its own with the ``sqlite3`` module.

The relay's group commit spends most of its storing time in layers, not in SQLite: a session,
a pooled connection, compiled statements and one hop to aiosqlite's thread per statement (begin,
select, insert, select, commit). Here a batch is one hop: the writer thread runs the whole
transaction on its own connection and hands back the ids. Values are converted with the
columns' own SQLAlchemy types, so a row reads back exactly as one the ORM wrote. The WAL is
checkpointed by another thread (``core.relay.checkpoints``), never in the writer's commits.

    log = SqliteEventLog.of(db)          # None on PostgreSQL and in-memory databases
    stored = await log.write(events)     # one committed transaction
    await log.close()
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Dialect

from core.domain.enums import InboundEventStatus
from core.relay.checkpoints import Checkpoints
from core.storage import tables as t
from core.storage.database import Database
from core.storage.types import utcnow

if TYPE_CHECKING:
    from core.relay.store import RawEvent

EVENTS = t.Base.metadata.tables[t.InboundEventRow.__tablename__]
#: The columns a new event is inserted with (the others are NULL until ingest fills them).
COLUMNS = (
    "tenant_id",
    "provider",
    "endpoint",
    "dedupe_key",
    "content_type",
    "headers",
    "body",
    "status",
    "attempts",
    "acked",
    "received_at",
)
#: The columns after the first ``PER_EVENT`` get the same value in every new event (status,
#: attempts, acked, received_at: converted once per batch).
PER_EVENT = 7
#: Rows per ``INSERT`` at most (SQLite allows 32,766 parameters in a statement).
ROWS = 500
#: At most this many distinct statements (one per batch size) stay prepared on the connection.
PREPARED = 512


def insert_sql(rows: int) -> str:
    """One multi-row ``INSERT`` of ``rows`` events, giving back the key and id of each row it
    inserted (a key already stored is skipped, and not given back)."""
    values = "(" + ", ".join("?" * len(COLUMNS)) + ")"
    return (
        f"INSERT INTO {EVENTS.name} ({', '.join(COLUMNS)}) VALUES "
        + ", ".join([values] * rows)
        + " ON CONFLICT (provider, dedupe_key) DO NOTHING RETURNING provider, dedupe_key, id"
    )


#: How long a write waits for another process's write lock (as the engine's connections do).
BUSY_SECONDS = 5.0
#: Seconds between two tries at the write lock another process holds. SQLite's own busy
#: handler backs off to 25, 50 then 100 ms sleeps: a batch would wait up to that long after
#: the lock is free.
RETRY_SECONDS = 0.0005
Key = tuple[str, str]


class SqliteEventLog:
    """Inserts batches of raw events in one dedicated thread and connection."""

    def __init__(self, path: str, dialect: Dialect) -> None:
        self.path = path
        self._binders = _binders(dialect)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="relay-event-log")
        self._connection: sqlite3.Connection | None = None
        self._checkpoints = Checkpoints(path)
        self._statements: dict[int, str] = {}
        #: Called (in the writer thread) with True when a batch starts waiting for the write
        #: lock another process holds, and with False once it has it.
        self.on_wait: Callable[[bool], None] | None = None

    @classmethod
    def of(cls, db: Database) -> SqliteEventLog | None:
        """The log of ``db``'s file, or None when it is not an SQLite file (PostgreSQL, memory)."""
        url = db.engine.url
        if db.dialect != "sqlite" or url.database in (None, "", ":memory:") or url.query:
            return None
        return cls(url.database, db.engine.dialect)

    async def write(self, events: Sequence[RawEvent]) -> tuple[dict[Key, int], set[Key]]:
        """Store the events not stored yet, in one committed transaction.

        Returns the id of every event's key, and the keys that were already stored before.

        Raises:
            sqlite3.Error: the transaction failed and was rolled back; nothing was stored.
        """
        loop = asyncio.get_running_loop()
        written = await loop.run_in_executor(self._executor, self._write, list(events))
        self._checkpoints.after_commit()
        return written

    async def close(self) -> None:
        """Close the connection, then end the thread."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._disconnect)
        self._executor.shutdown(wait=False)
        await self._checkpoints.close()

    # -- in the writer thread ------------------------------------------------------------------

    def _write(self, events: list[RawEvent]) -> tuple[dict[Key, int], set[Key]]:
        connection = self._connect()
        fresh: dict[Key, RawEvent] = {}
        for event in events:
            fresh.setdefault((event.provider, event.dedupe_key), event)
        rows = list(fresh.values())
        try:
            self._begin(connection)
            # One statement per batch (of up to ``ROWS``): what it did not insert was stored
            # before.
            ids: dict[Key, int] = {}
            for start in range(0, len(rows), ROWS):
                chunk = rows[start : start + ROWS]
                inserted = connection.execute(self._insert(len(chunk)), self._parameters(chunk))
                ids.update(((p, k), i) for p, k, i in inserted.fetchall())
            existing = fresh.keys() - ids.keys()
            if existing:
                ids.update(_ids(connection, existing))
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        return ids, existing

    def _insert(self, rows: int) -> str:
        sql = self._statements.get(rows)
        if sql is None:
            sql = self._statements[rows] = insert_sql(rows)
        return sql

    def _begin(self, connection: sqlite3.Connection) -> None:
        """``BEGIN IMMEDIATE``, trying again every ``RETRY_SECONDS`` while another process holds
        the write lock (telling ``on_wait``), for ``BUSY_SECONDS`` at most. SQLite's busy
        handler is off meanwhile (the other statements keep it)."""
        deadline, waiting = time.monotonic() + BUSY_SECONDS, False
        connection.execute("PRAGMA busy_timeout=0")
        try:
            while True:
                try:
                    connection.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if not _locked(exc) or time.monotonic() > deadline:
                        raise
                if not waiting and self.on_wait is not None:
                    self.on_wait(True)
                waiting = True
                time.sleep(RETRY_SECONDS)
        finally:
            connection.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")
            if waiting and self.on_wait is not None:
                self.on_wait(False)

    def _parameters(self, events: Iterable[RawEvent]) -> list[Any]:
        """The insert's parameters, row after row, each converted by its column's type (the
        columns every new event shares converted once)."""
        shared = (str(InboundEventStatus.PENDING), 0, False, utcnow())
        binders = self._binders
        tail = [
            bind(value) if bind is not None else value
            for bind, value in zip(binders[PER_EVENT:], shared, strict=True)
        ]
        converted = [(i, bind) for i, bind in enumerate(binders[:PER_EVENT]) if bind is not None]
        parameters: list[Any] = []
        for event in events:
            values = [
                event.tenant_id,
                event.provider,
                event.endpoint,
                event.dedupe_key,
                (event.content_type or "")[:200] or None,
                event.headers,
                event.body,
            ]
            for i, bind in converted:
                values[i] = bind(values[i])
            parameters += values
            parameters += tail
        return parameters

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(
                self.path,
                timeout=BUSY_SECONDS,
                isolation_level=None,
                check_same_thread=True,
                cached_statements=PREPARED,
            )
            pragmas = ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL")
            # checkpoints are ``_checkpoints``' (a commit here must not copy pages and fsync)
            for pragma in (*pragmas, "wal_autocheckpoint=0"):
                connection.execute(f"PRAGMA {pragma}")
            self._connection = connection
        return self._connection

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _locked(exc: sqlite3.OperationalError) -> bool:
    """Whether ``exc`` is SQLite's "another connection holds the lock" (SQLITE_BUSY)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return bool(code & 0xFF == sqlite3.SQLITE_BUSY)
    return "locked" in str(exc)


def _ids(connection: sqlite3.Connection, keys: set[Key]) -> dict[Key, int]:
    """The stored id of each of ``keys`` found."""
    providers, values = sorted({p for p, _ in keys}), sorted({k for _, k in keys})
    query = (
        f"SELECT provider, dedupe_key, id FROM {EVENTS.name}"
        f" WHERE provider IN ({', '.join('?' * len(providers))})"
        f" AND dedupe_key IN ({', '.join('?' * len(values))})"
    )
    rows = connection.execute(query, [*providers, *values]).fetchall()
    return {(p, k): i for p, k, i in rows if (p, k) in keys}


def _binders(dialect: Dialect) -> list[Callable[[Any], Any] | None]:
    """Each inserted column's conversion to what SQLite stores (JSON text, UTC timestamps…)."""
    return [EVENTS.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in COLUMNS]
