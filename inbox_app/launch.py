"""Starting the Textual app (imported only when the inbox is opened)."""

from __future__ import annotations

import asyncio
import os

from core.config.settings import Settings

#: Set to 1 by ``coccinelle bench``: run headless and exit once the inbox list is painted.
FIRST_PAINT_ENV = "COCCINELLE_EXIT_AFTER_FIRST_PAINT"


def run_app(settings: Settings) -> int:
    """Open the inbox and return the exit code."""
    from inbox_app.memory import hold_collector

    hold_collector()  # the app lets it run again once its first page is on screen
    from core.logs import configure_logging
    from inbox_app.app import InboxApp

    configure_logging(settings.data_dir)
    if os.environ.get(FIRST_PAINT_ENV) == "1":
        # The engine starts after the first paint, so leaving it out changes nothing measured
        # and keeps benchmark runs from binding the relay's port or sending anything.
        app = InboxApp(settings=settings, engine=False, calm_memory=True)
        asyncio.run(_until_first_paint(app))
    else:
        app = InboxApp(settings=settings, engine=True, calm_memory=True)
        app.run()
    return int(app.return_code or 0)


async def _until_first_paint(app: object) -> None:
    """Run headless; exit after the first refresh showing rows in the inbox list (benchmark)."""
    from textual.widgets import DataTable

    from inbox_app.app import InboxApp

    assert isinstance(app, InboxApp)
    running = asyncio.create_task(app.run_async(headless=True))
    while not running.done():
        await asyncio.sleep(0.002)
        if app.is_running and any(table.row_count for table in app.screen.query(DataTable)):
            await app.settle_workers()
            app.call_after_refresh(app.exit)
            break
    await running
