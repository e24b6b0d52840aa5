"""The app on the scenario in a SQLite file, for snapshots and screenshots (no running loop).

Snapshot tools run the app in their own event loop, so the data is written first, in a loop of
its own, and the app opens the database itself, with the scenario's fixed clock.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from core.config.settings import Settings
from core.service import InboxService
from core.storage.database import Database, sqlite_url
from inbox_app.app import InboxApp
from tests.tui.scenario import build, fixed_now


def seed(path: Path) -> dict[str, int]:
    """Write the scenario into a fresh SQLite database at ``path``."""

    async def run() -> dict[str, int]:
        db = await Database.open(sqlite_url(path))
        try:
            service = await InboxService.connect(db, "demo", clock=fixed_now)
            return await build(service)
        finally:
            await db.close()

    path.unlink(missing_ok=True)
    return asyncio.run(run())


def seed_demo_file(path: Path) -> None:
    """Write the demo agency (its campaign and A/B test included) at the scenario's "now"."""
    from core.demo.seeder import seed_demo

    async def run() -> None:
        db = await Database.open(sqlite_url(path))
        try:
            await seed_demo(db, now=fixed_now())
        finally:
            await db.close()

    path.unlink(missing_ok=True)
    asyncio.run(run())


def scenario_app(path: Path) -> InboxApp:
    """An app that opens the seeded database at ``path`` with the fixed clock."""
    settings = Settings(database_url=sqlite_url(path), tenant="demo", language="en")
    return InboxApp(settings=settings, clock=fixed_now, live=False)


def demo_app(path: Path) -> InboxApp:
    """An app on the demo database at ``path``, as its first agent, with the fixed clock."""
    settings = Settings(
        database_url=sqlite_url(path), tenant="demo", language="en", agent="Claire Martin"
    )
    return InboxApp(settings=settings, clock=fixed_now, live=False)
