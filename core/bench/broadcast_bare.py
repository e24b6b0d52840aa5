"""The broadcast's reference: bare ``sqlite3`` doing the same writes, for ``core.bench.broadcast``:

    python -m core.bench.broadcast_bare WRITTEN FRESH BROADCAST_ID CHUNK

WRITTEN is the copy the broadcast ``BROADCAST_ID`` was queued on, FRESH another copy of the
same dataset as it was before. The rows the broadcast wrote (the conversations it opened, its
messages and outbox rows, the denormalised columns of the conversations it added a message to)
are read from WRITTEN, ``CHUNK`` prospects at a time as the broadcast's chunks, and written to
FRESH with the plain ``sqlite3`` module: one ``BEGIN IMMEDIATE … COMMIT`` per chunk, an
``executemany`` per table, the app's pragmas. Only the write transactions are timed (and their
CPU counted): no reading, no deciding, no Python of the app. Prints one JSON line: prospects,
seconds, cpu_seconds and the rows written per table.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from typing import Any

from core.pipeline.bulk import DENORMALISED

#: The conversation columns a broadcast's message changes (``core.pipeline.bulk``), and the
#: ``updated_at`` SQLAlchemy's update adds.
_FOLDED = (*DENORMALISED, "updated_at")


def _connect(path: str) -> sqlite3.Connection:
    """A connection with the app's pragmas (``core.storage.database``), transactions by hand."""
    con = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
        con.execute(f"PRAGMA {pragma}")
    return con


def _in(ids: list[int]) -> str:
    return ", ".join("?" * len(ids))


def _chunks(written: sqlite3.Connection, broadcast_id: str, chunk: int) -> Iterator[list[Any]]:
    """The broadcast's outbox rows, ``chunk`` at a time in the order they were written (one
    per prospect: a chunk's rows are consecutive, each chunk being one transaction)."""
    cursor = written.execute(
        "SELECT * FROM outbox WHERE broadcast_id = ? ORDER BY id", (broadcast_id,)
    )
    while rows := cursor.fetchmany(chunk):
        yield rows


def _chunk_writes(
    written: sqlite3.Connection, rows: list[Any], message_at: int, fresh_max: int
) -> dict[str, list[Any]]:
    """One chunk's rows to write: conversations opened, messages, outbox rows, and the
    conversations updated (their folded columns then their id)."""
    message_ids = [row[message_at] for row in rows if row[message_at] is not None]
    messages = written.execute(
        f"SELECT * FROM messages WHERE id IN ({_in(message_ids)}) ORDER BY id", message_ids
    ).fetchall()
    threads = sorted({m[2] for m in messages})  # conversation_id
    opened = [c for c in threads if c > fresh_max]
    kept = [c for c in threads if c <= fresh_max]
    return {
        "conversations": written.execute(
            f"SELECT * FROM conversations WHERE id IN ({_in(opened)}) ORDER BY id", opened
        ).fetchall(),
        "messages": messages,
        "outbox": rows,
        "updates": written.execute(
            f"SELECT {', '.join(_FOLDED)}, id FROM conversations WHERE id IN ({_in(kept)})", kept
        ).fetchall(),
    }


def _write(fresh: sqlite3.Connection, writes: dict[str, list[Any]]) -> None:
    """One chunk's writes in one transaction, as plain ``sqlite3`` does them."""
    fresh.execute("BEGIN IMMEDIATE")
    for table in ("conversations", "messages", "outbox"):
        rows = writes[table]
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            fresh.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
    assignments = ", ".join(f"{name} = ?" for name in _FOLDED)
    fresh.executemany(f"UPDATE conversations SET {assignments} WHERE id = ?", writes["updates"])
    fresh.execute("COMMIT")


def _migrated(path: str) -> None:
    """``path`` brought to the schema the broadcast wrote (its process migrated its own copy
    when it opened it), so that both write the same indexes and triggers; not timed."""
    from sqlalchemy import create_engine

    from core.storage.migrate import upgrade_if_needed

    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            upgrade_if_needed(connection)
    finally:
        engine.dispose()


def run(written_path: str, fresh_path: str, broadcast_id: str, chunk: int) -> dict[str, Any]:
    """Write the broadcast's rows from ``written_path`` to ``fresh_path`` (first migrated as the
    broadcast's copy was), timed per chunk."""
    _migrated(fresh_path)
    counts = dict.fromkeys(("conversations", "messages", "outbox", "updates"), 0)
    seconds = cpu = 0.0
    with closing(_connect(written_path)) as written, closing(_connect(fresh_path)) as fresh:
        columns = [row[1] for row in written.execute("PRAGMA table_info(outbox)")]
        message_at = columns.index("message_id")
        (fresh_max,) = fresh.execute("SELECT coalesce(max(id), 0) FROM conversations").fetchone()
        for rows in _chunks(written, broadcast_id, chunk):
            writes = _chunk_writes(written, rows, message_at, fresh_max)
            start, started_cpu = time.perf_counter(), time.process_time()
            _write(fresh, writes)
            seconds += time.perf_counter() - start
            cpu += time.process_time() - started_cpu
            for table, done in writes.items():
                counts[table] += len(done)
    return {"prospects": counts["outbox"], "seconds": seconds, "cpu_seconds": cpu, **counts}


if __name__ == "__main__":
    found = run(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
    print(json.dumps(found), flush=True)
