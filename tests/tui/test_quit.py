"""Quitting while a worker is still reading the database lets the read finish, then ends."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from textual.worker import Worker, WorkerState

from core.config.settings import Settings
from core.storage.database import Database, sqlite_url
from inbox_app import app as app_module
from inbox_app.app import InboxApp

#: A read that keeps SQLite busy for about a second.
SLOW_QUERY = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000)"
    " SELECT count(*) FROM n"
)
#: How long quitting may wait for the read here: the app's own bound (2 s) is shorter than the
#: read on a loaded machine, and this test is about waiting, not about the bound.
WORKERS_EXIT_SECONDS = 60.0
#: Far longer than a quit takes; the app used to hang for ever here.
QUIT_BUDGET_SECONDS = 120.0


async def read_slowly(app: InboxApp, reading: asyncio.Event) -> None:
    """A worker's read that keeps its database connection until it is cancelled."""
    async with app.service.ctx.db.session() as session:
        reading.set()
        await session.execute(text(SLOW_QUERY))


async def test_quit_lets_a_reading_worker_finish_before_the_app_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "WORKERS_EXIT_SECONDS", WORKERS_EXIT_SECONDS)
    path = tmp_path / "inbox.db"
    db = await Database.open(sqlite_url(path))
    await db.close()
    app = InboxApp(settings=Settings(database_url=sqlite_url(path), language="en"), live=False)

    worker: Worker[None] | None = None

    async def run_and_quit() -> None:
        nonlocal worker
        async with app.run_test() as pilot:
            while app.service is None:
                await pilot.pause(0.05)
            reading = asyncio.Event()
            worker = app.run_worker(read_slowly(app, reading), group="slow-read")
            await asyncio.wait_for(reading.wait(), 10)
            await pilot.pause(0.1)
            await pilot.press("ctrl+q")

    await asyncio.wait_for(run_and_quit(), QUIT_BUDGET_SECONDS)
    assert not app.is_running
    # Not cancelled in the middle of its query: it finished, then the app quit.
    assert worker is not None and worker.state is WorkerState.SUCCESS
