"""A broadcast's chunk defers SQLite's checkpoints on its own connection only, and only while
that connection is lent to it: back in the pool, the connection checkpoints as before."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from core.storage.database import (
    AUTOCHECKPOINT_PAGES,
    Database,
    defer_checkpoints,
    sqlite_url,
)


async def _autocheckpoint(db: Database) -> int:
    async with db.session() as session:
        return int((await session.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one())


async def test_deferred_inside_the_transaction_then_restored(tmp_path: Path) -> None:
    db = await Database.open(sqlite_url(tmp_path / "a.db"), upgrade=False)
    try:
        async with db.session() as session:
            await defer_checkpoints(session, 16_000)
            now = (await session.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one()
            assert now == 16_000
        # the pool hands the same connection back (one idle connection): restored on its return
        assert await _autocheckpoint(db) == AUTOCHECKPOINT_PAGES
    finally:
        await db.close()


async def test_the_commits_of_a_deferring_transaction_leave_the_wal(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    db = await Database.open(sqlite_url(path), upgrade=False)
    try:
        async with db.session() as session:
            await session.execute(text("CREATE TABLE t (x BLOB)"))
        for _ in range(4):  # 4 × ~400 pages: past SQLite's 1,000, under the deferred limit
            async with db.session() as session:
                await defer_checkpoints(session, 16_000)
                blob = text("INSERT INTO t VALUES (randomblob(4000))")
                for _ in range(400):
                    await session.execute(blob)
        assert path.stat().st_size < 100 * 4096  # nothing copied back to the database file
        async with db.session() as session:  # an ordinary commit checkpoints the whole WAL
            await session.execute(text("INSERT INTO t VALUES (1)"))
        assert path.stat().st_size > 1_600 * 4096
    finally:
        await db.close()
