"""The broadcast's bare-sqlite3 reference writes exactly the rows the broadcast wrote."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from core.bench import broadcast_bare, broadcast_run
from core.bench.generate import generate
from core.storage import migrate
from core.storage.database import Database, sqlite_url

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
#: Every table a broadcast's writes change (its triggers' included), as the reference must.
TABLES = ("conversations", "messages", "outbox", "messages_fts", "analytics_stale")


def _schema(path: Path) -> list[tuple]:
    with closing(sqlite3.connect(path)) as con:
        return con.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()


def _one_revision_back(path: Path) -> None:
    """The dataset as the previous version left it: the broadcast's process migrates its copy
    when it opens it, so the reference must write the same schema (indexes, triggers)."""
    from alembic import command
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        command.downgrade(migrate.alembic_config(connection), "-1")
    engine.dispose()


def _rows(path: Path, table: str) -> list[tuple]:
    with closing(sqlite3.connect(path)) as con:
        return con.execute(f"SELECT rowid, * FROM {table} ORDER BY rowid").fetchall()


async def test_the_reference_replays_the_broadcasts_rows(tmp_path: Path) -> None:
    written, fresh = tmp_path / "written.db", tmp_path / "fresh.db"
    db = await Database.open(sqlite_url(written))
    try:
        await generate(db, "small", now=NOW)
    finally:
        await db.close()
    _one_revision_back(written)
    shutil.copyfile(written, fresh)
    before = {table: _rows(fresh, table) for table in TABLES}

    queued = await broadcast_run.run(str(written), "bench", 300)
    done = broadcast_bare.run(str(written), str(fresh), str(queued["broadcast_id"]), 120)

    assert done["prospects"] == done["outbox"] == 300
    assert done["messages"] > 0 and done["conversations"] > 0 and done["updates"] > 0
    assert done["seconds"] > 0
    assert _schema(fresh) == _schema(written)
    for table in TABLES:
        assert _rows(fresh, table) == _rows(written, table), table
        assert _rows(fresh, table) != before[table], table
