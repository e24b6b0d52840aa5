"""A connection stopped by force, then closed gracefully, ends (it used to hang for ever)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiosqlite
from sqlalchemy import text

from core.storage import sqlite_driver
from core.storage.database import Database, sqlite_url


async def _stop_then_close(connection: aiosqlite.Connection, seconds: float = 5) -> None:
    """SQLAlchemy's order when a cancelled query's connection is terminated: a graceful close
    starts, then a forced stop arrives before it has finished."""
    await connection
    closing = asyncio.ensure_future(connection.close())
    await asyncio.sleep(0)  # the close has queued its work for the connection's thread
    connection.stop()
    await asyncio.wait_for(closing, seconds)


async def test_close_after_stop_ends(tmp_path: Path) -> None:
    """With aiosqlite's own connection the same sequence never ends (``wait_for`` times out)."""
    connection = sqlite_driver.connect(str(tmp_path / "a.db"))
    await _stop_then_close(connection, seconds=2)
    connection._thread.join(2)
    assert not connection._thread.is_alive()  # the thread ended, and nothing waits on it


async def test_the_database_uses_it(tmp_path: Path) -> None:
    db = await Database.open(sqlite_url(tmp_path / "c.db"))
    try:
        async with db.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            assert isinstance(raw.driver_connection, sqlite_driver._Connection)
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await db.close()
