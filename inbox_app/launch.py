"""Starting the Textual app (imported only when the inbox is opened)."""

from __future__ import annotations

import asyncio
import os

from core.config.settings import Settings

#: Set to 1 by ``coccinelle bench``: run headless and exit once the inbox list is painted.
FIRST_PAINT_ENV = "COCCINELLE_EXIT_AFTER_FIRST_PAINT"
#: With ``FIRST_PAINT_ENV``: a file the app writes the wall-clock time of its first paint to
#: (nanoseconds since the epoch), so that a bench stops its clock there and not at the exit.
FIRST_PAINT_STAMP_ENV = "COCCINELLE_FIRST_PAINT_STAMP"


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
    """Run headless; exit once the inbox painted its first page (benchmark).

    The time of that paint is written to ``FIRST_PAINT_STAMP_ENV``'s file when it is set: what
    the app does to exit (waiting for its workers, closing the database) is not start-up.
    """
    from inbox_app.app import InboxApp

    assert isinstance(app, InboxApp)
    stamp = os.environ.get(FIRST_PAINT_STAMP_ENV)
    if stamp:  # at the paint, not once this task is next scheduled (the service opens then)
        app.when_painted.append(lambda: stamp_first_paint(stamp))
    running = asyncio.create_task(app.run_async(headless=True))
    painted = asyncio.create_task(app.first_paint.wait())
    await asyncio.wait({running, painted}, return_when=asyncio.FIRST_COMPLETED)
    if painted.done():
        await app.until_service()  # quitting while it opens would leave its connection open
        await app.settle_workers()
        app.call_after_refresh(app.exit)
    else:
        painted.cancel()
    await running


def stamp_first_paint(path: str) -> None:
    """Write the time of the first paint (nanoseconds since the epoch) to ``path``."""
    import time

    with open(path, "w", encoding="ascii") as out:
        out.write(str(time.time_ns()))
