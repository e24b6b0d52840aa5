"""The relay's event log: its commits never checkpoint the WAL; its checkpoint thread does."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core.relay import checkpoints
from core.relay.sqlite_log import SqliteEventLog
from core.relay.store import RawEvent
from core.storage.database import Database

#: Enough bodies for a WAL well past SQLite's automatic checkpoint (1,000 pages of 4 KiB).
EVENTS, BODY = 400, 16_384


def big(number: int) -> RawEvent:
    return RawEvent(
        tenant_id=None,
        provider="twilio",
        endpoint="twilio/sms",
        dedupe_key=f"k{number}",
        body=b"x" * BODY,
        headers={"channel": "sms"},
    )


async def written_size(db: Database, monkeypatch: pytest.MonkeyPatch, seconds: float) -> int:
    """The database file's size after the log wrote ``EVENTS`` big events in batches, its
    checkpoint thread running every ``seconds`` (it grows only when the WAL is copied in)."""
    monkeypatch.setattr(checkpoints, "CHECKPOINT_SECONDS", seconds)
    path = db.engine.url.database or ""
    # another connection stays open: closing the log's is not closing the last one (which
    # SQLite would end with a checkpoint of its own)
    other = sqlite3.connect(path)
    log = SqliteEventLog.of(db)
    assert log is not None
    try:
        for start in range(0, EVENTS, 50):
            await log.write([big(n) for n in range(start, start + 50)])
    finally:
        await log.close()  # after the checkpoint in progress, if any
        size = Path(path).stat().st_size
        other.close()
    return size


async def test_the_log_commits_leave_the_wal_to_the_checkpoint_thread(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = Path(sqlite_db.engine.url.database or "").stat().st_size
    assert await written_size(sqlite_db, monkeypatch, float("inf")) == before


async def test_the_checkpoint_thread_copies_the_wal_into_the_database(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = Path(sqlite_db.engine.url.database or "").stat().st_size
    assert await written_size(sqlite_db, monkeypatch, 0.0) > before + EVENTS * BODY // 2
