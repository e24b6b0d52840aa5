"""Ingest in a process of its own: the relay wakes it after commits and tells it when its
writer waits for SQLite's write lock; the child follows that on its standard input, and ends
(rolling back what it was applying) when that input closes."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from core.relay import ingest_process
from core.relay.ingest_process import IngestProcess, follow_wakes
from core.relay.sqlite_log import SqliteEventLog
from core.storage.database import Database
from core.storage.gate import WriteGate
from tests.unit.relay.test_store import raw

RECORD = "import sys; data = sys.stdin.buffer.read(); open(sys.argv[1], 'ab').write(data + b'|')"


async def test_the_child_is_woken_told_of_lock_waits_and_ends_with_the_relay(
    tmp_path: Path,
) -> None:
    told = tmp_path / "told"
    child = IngestProcess([sys.executable, "-c", RECORD, str(told)])
    await child.start()
    child.wake()
    await asyncio.sleep(0.05)
    child.want_lock(True)
    child.want_lock(False)
    await child.stop()
    data = told.read_bytes()
    assert data.endswith(b"|") and data.count(b"|") == 1  # ended once, on its input's end
    assert b"\n" in data and b"!." in data


async def test_a_child_that_dies_is_started_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ingest_process, "RESTART_SECONDS", 0.01)
    starts = tmp_path / "starts"
    dies = f"open({str(starts)!r}, 'a').write('x')"
    child = IngestProcess([sys.executable, "-c", dies])
    await child.start()
    for _ in range(300):
        if starts.exists() and len(starts.read_text()) >= 2:
            break
        await asyncio.sleep(0.05)
    await child.stop()
    assert len(starts.read_text()) >= 2


class FakeWorker:
    """Records wakes and, while it runs, whether it is asked to yield the write lock."""

    def __init__(self) -> None:
        self.ctx: Any = SimpleNamespace(db=SimpleNamespace(gate=WriteGate(serial=True)))
        self.wakes = 0
        self.cancelled = False

    def wake(self) -> None:
        self.wakes += 1

    async def run(self, stop: asyncio.Event) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise


@pytest.fixture
def stdin_pipe(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    read, write = os.pipe()
    monkeypatch.setattr(sys, "stdin", os.fdopen(read, "rb", buffering=0))
    handler = signal.getsignal(signal.SIGINT)
    yield write
    signal.signal(signal.SIGINT, handler)


async def test_the_child_follows_its_input_and_stops_its_worker_at_its_end(
    stdin_pipe: int,
) -> None:
    worker = FakeWorker()
    following = asyncio.create_task(follow_wakes(worker))  # type: ignore[arg-type]

    async def told(data: bytes) -> None:
        os.write(stdin_pipe, data)
        await asyncio.sleep(0.05)

    await told(b"\n!")
    assert worker.wakes == 1 and worker.ctx.db.gate.wanted
    await told(b".")
    assert worker.wakes == 1 and not worker.ctx.db.gate.wanted
    os.close(stdin_pipe)
    await asyncio.wait_for(following, 5)
    assert worker.cancelled


async def test_the_relay_log_waits_for_another_process_lock_and_says_so(
    sqlite_db: Database,
) -> None:
    db = sqlite_db
    log = SqliteEventLog.of(db)
    assert log is not None
    waits: list[bool] = []
    log.on_wait = waits.append
    other = sqlite3.connect(db.engine.url.database or "", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process's ingest transaction
        writing = asyncio.create_task(log.write([raw("k1")]))
        for _ in range(200):
            if waits:
                break
            await asyncio.sleep(0.01)
        assert waits == [True] and not writing.done()
        other.execute("COMMIT")
        ids, existing = await asyncio.wait_for(writing, 5)
    finally:
        other.close()
        await log.close()
    assert list(ids) == [("twilio", "k1")] and not existing
    assert waits == [True, False]
