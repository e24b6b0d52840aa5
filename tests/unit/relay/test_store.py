"""The relay's durable store: group commit, dedupe keys, failures reported to every waiter."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.relay.sqlite_log import SqliteEventLog
from core.relay.store import EventWriter, RawEvent, dedupe_key
from core.storage import tables as t
from core.storage.database import Database, sqlite_url


def raw(key: str, tenant_id: int | None = None) -> RawEvent:
    return RawEvent(
        tenant_id=tenant_id,
        provider="twilio",
        endpoint="twilio/sms",
        dedupe_key=key,
        body=b"Body=x",
        headers={"channel": "sms"},
    )


async def count(db: Database) -> int:
    async with db.session() as session:
        query = select(func.count()).select_from(t.InboundEventRow)
        return (await session.execute(query)).scalar_one()


async def test_concurrent_requests_share_commits_and_all_are_stored(db: Database) -> None:
    writer = EventWriter(db)
    commits = []
    writer.on_commit.append(lambda: commits.append(1))
    try:
        results = await asyncio.gather(*(writer.store(raw(f"k{i}")) for i in range(200)))
    finally:
        await writer.close()
    assert len({r.id for r in results}) == 200 and not any(r.duplicate for r in results)
    assert await count(db) == 200
    assert len(commits) < 200  # batched


async def test_duplicates_in_and_across_batches_are_stored_once(db: Database) -> None:
    writer = EventWriter(db)
    try:
        first, second = await asyncio.gather(writer.store(raw("same")), writer.store(raw("same")))
        third = await writer.store(raw("same"))
    finally:
        await writer.close()
    assert first.id == second.id == third.id
    assert [first.duplicate, second.duplicate, third.duplicate] == [False, True, True]
    assert await count(db) == 1


async def test_a_database_failure_reaches_every_waiting_request(db: Database) -> None:
    writer = EventWriter(db)
    bad = RawEvent(tenant_id=999_999, provider="twilio", endpoint="x", dedupe_key="k", body=b"")
    try:
        with pytest.raises(Exception):  # noqa: B017 - the driver's own error type
            await writer.store(bad)  # no such tenant: the foreign key refuses it
        assert (await writer.store(raw("after"))).duplicate is False  # the writer lives on
    finally:
        await writer.close()
    assert await count(db) == 1


def test_dedupe_key_is_order_free_and_bounded() -> None:
    assert dedupe_key(["b", "a"], b"") == dedupe_key(["a", "b", "a"], b"") == "a|b"
    long = dedupe_key([f"sg_event_{i}" for i in range(50)], b"")
    assert len(long) <= 200 and long.startswith("keys:")
    assert dedupe_key([], b"one") != dedupe_key([], b"two")


async def test_an_event_stored_by_the_writer_thread_reads_back_as_the_orm_writes_it(
    tmp_path: Path,
) -> None:
    db = await Database.open(sqlite_url(tmp_path / "log.db"))
    writer = EventWriter(db)
    try:
        await writer.start()
        assert isinstance(writer._log, SqliteEventLog)  # an SQLite file: its own thread
        event = RawEvent(
            tenant_id=None,
            provider="twilio",
            endpoint="twilio/sms",
            dedupe_key="twilio:SM1:received",
            body=b"Body=caf%C3%A9",
            content_type="application/x-www-form-urlencoded",
            headers={"channel": "sms", "query": {"é": "\u00e9"}},
        )
        stored = await writer.store(event)
    finally:
        await writer.close()
    async with db.session() as session:
        row = await session.get(t.InboundEventRow, stored.id)
    await db.close()
    assert row is not None
    assert (row.provider, row.endpoint) == ("twilio", "twilio/sms")
    assert (row.dedupe_key, row.body) == (event.dedupe_key, event.body)
    assert (row.content_type, row.headers) == (event.content_type, event.headers)
    assert (row.status, row.attempts, row.acked, row.error) == ("pending", 0, False, None)
    assert row.received_at.tzinfo is not None
    assert abs((datetime.now(UTC) - row.received_at).total_seconds()) < 60


async def test_the_writer_waits_for_another_connection_s_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    db = await Database.open(sqlite_url(path))
    other = sqlite3.connect(path, isolation_level=None)
    writer = EventWriter(db)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process writing, say
        pending = asyncio.ensure_future(writer.store(raw("waits")))
        await asyncio.sleep(0.2)
        assert not pending.done()
        other.execute("COMMIT")
        assert (await asyncio.wait_for(pending, 10)).duplicate is False
    finally:
        other.close()
        await writer.close()
    assert await count(db) == 1
    await db.close()
