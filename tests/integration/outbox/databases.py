"""The database a crash test kills a process over: a SQLite file, or a PostgreSQL schema of
its own (dropped after)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from core.storage.database import Database, sqlite_url
from tests.conftest import PG_URL, PgSchema


@asynccontextmanager
async def crash_database(
    tmp_path: Path, engine: str, name: str
) -> AsyncIterator[tuple[Database, str, str | None]]:
    """The database open, its URL and its PostgreSQL schema (None on SQLite), for the child
    process to open the same one."""
    pg: PgSchema | None = None
    if engine == "sqlite":
        url = sqlite_url(tmp_path / f"{name}.db")
        db = await Database.open(url)
    else:
        if not PG_URL:
            pytest.skip("COCCINELLE_TEST_PG_URL is not set")
        pg = PgSchema(PG_URL)
        await pg.create()
        url = PG_URL
        db = await pg.open()
    try:
        yield db, url, pg.name if pg else None
    finally:
        await db.close()
        if pg is not None:
            await pg.drop()
