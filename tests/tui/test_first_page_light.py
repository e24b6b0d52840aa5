"""The inbox's first page is read and painted before SQLAlchemy and the service are imported
(``core.storage.inbox_list``); the service opens right after, and a key waits for it (issue 18).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import core.engine
from core.config.settings import Settings
from core.domain.inbox_filter import InboxFilter
from core.service import InboxService
from core.storage.database import sqlite_url
from core.storage.demo_marks import DEMO_MARKER, DEMO_STARTED
from core.storage.inbox_list import read_first_screen
from inbox_app.app import InboxApp
from inbox_app.screens.inbox import PAGE_SIZE, InboxScreen
from tests.tui.helpers import settle_until
from tests.tui.snapshot_app import seed
from tests.tui.test_startup import OPEN_THE_INBOX, _demo_start

#: Not imported by the time a start on an existing SQLite database paints its first page.
WITHOUT_THE_SERVICE = (
    "sqlalchemy",
    "aiosqlite",
    "alembic",
    "core.storage.tables",
    "core.storage.database",
    "core.service",
    "core.engine",
)


@pytest.fixture
def seeded(tmp_path: Path) -> Path:
    path = tmp_path / "inbox.db"
    seed(path)
    return path


def test_a_start_paints_its_first_page_without_sqlalchemy(tmp_path: Path) -> None:
    """The first start seeds the demo through the service; the next one paints the page it
    read through ``sqlite3`` (rows on screen) with none of ``WITHOUT_THE_SERVICE`` imported,
    then opens the service and quits normally."""
    data = tmp_path / "data"
    _demo_start(data, tmp_path / "painted", OPEN_THE_INBOX)
    code = (
        "import sys\n"
        "from inbox_app.app import InboxApp\n"
        "shown = InboxApp.first_page_shown\n"
        "def first_page_shown(self):\n"
        "    if not self.first_paint.is_set():\n"
        f"        loaded = [m for m in {WITHOUT_THE_SERVICE!r} if m in sys.modules]\n"
        "        rows = self.screen.table.row_count\n"
        "        print('rows:', rows > 0, 'loaded:', ','.join(loaded))\n"
        "    shown(self)\n"
        "InboxApp.first_page_shown = first_page_shown\n"
    ) + OPEN_THE_INBOX
    done = _demo_start(data, tmp_path / "painted", code)
    assert done.stdout.strip() == "rows: True loaded:"


async def test_the_first_screen_read_without_the_service_is_the_services(seeded: Path) -> None:
    """Same page (items and cursor) and counts as the service reads for the same database."""
    from core.storage.database import Database

    first = read_first_screen(sqlite_url(seeded), "demo", 3)
    assert first is not None
    db = await Database.open(sqlite_url(seeded))
    try:
        service = await InboxService.connect(db, "demo")
        page = await service.conversations.page(InboxFilter(), None, 3)
        counts = await service.conversations.counts()
        zone = await service.tenant_settings.timezone()
    finally:
        await db.close()
    assert first.page == page and page.next_cursor is not None
    assert first.counts == counts
    assert first.timezone == zone


def test_what_the_first_screen_leaves_to_the_service(seeded: Path, tmp_path: Path) -> None:
    """Another database than an SQLite file, a missing file or tenant: read by the service."""
    url = sqlite_url(seeded)
    assert read_first_screen(url, "nobody", PAGE_SIZE) is None
    assert read_first_screen(sqlite_url(tmp_path / "missing.db"), "demo", PAGE_SIZE) is None
    assert read_first_screen("postgresql+asyncpg://localhost/db", "demo", PAGE_SIZE) is None
    assert not (tmp_path / "missing.db").exists()


def test_a_demo_whose_seeding_was_cut_short_is_left_to_the_service(seeded: Path) -> None:
    """Seeding marked as started and never as done: the service seeds it again when it opens,
    so the half-seeded page is not painted first (outside the demo the marks are not read)."""
    import sqlite3

    with sqlite3.connect(seeded) as connection:
        connection.execute("DELETE FROM audit_log WHERE action = ?", (DEMO_MARKER,))
        tenant = connection.execute("SELECT id FROM tenants").fetchone()[0]
        connection.execute(
            "INSERT INTO audit_log (tenant_id, action, subject_type, details, created_at)"
            " VALUES (?, ?, 'tenant', '{}', '2026-12-01 09:00:00')",
            (tenant, DEMO_STARTED),
        )
    url = sqlite_url(seeded)
    assert read_first_screen(url, "demo", PAGE_SIZE, demo=True) is None
    assert read_first_screen(url, "demo", PAGE_SIZE) is not None


async def test_a_key_before_the_service_is_open_waits_for_it(seeded: Path, monkeypatch) -> None:
    """The page is painted before the service opens; a key pressed meanwhile is answered once
    it is open (not lost, and nothing reads through a service that is not there)."""
    release = asyncio.Event()
    real_open = core.engine.open_service

    async def open_service(settings: Settings, **options: bool) -> InboxService:
        await release.wait()
        return await real_open(settings, **options)

    monkeypatch.setattr(core.engine, "open_service", open_service)
    settings = Settings(database_url=sqlite_url(seeded), tenant="demo", language="en")
    app = InboxApp(settings=settings, live=False)
    async with app.run_test() as pilot:
        for _ in range(200):  # not ``settle``: it waits for the workers, the service's too
            if app.first_paint.is_set():
                break
            await pilot.pause(0.05)
        screen = app.screen
        assert isinstance(screen, InboxScreen)
        assert app.service is None and screen.table.row_count > 0
        assert screen.table.cursor_row == 0
        pressed = asyncio.create_task(pilot.press("down"))  # answered once the service is open
        await asyncio.sleep(0.2)
        assert screen.table.cursor_row == 0 and not pressed.done()
        release.set()
        await asyncio.wait_for(pressed, 30)
        await settle_until(pilot, lambda: screen.table.cursor_row == 1)
        assert app.service is not None
