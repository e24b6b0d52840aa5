"""Small readers of what the app shows, for assertions."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App
from textual.widgets import Static

from inbox_app.widgets.inbox.conversation_list import ConversationList


def rows(app: App[object]) -> list[list[str]]:
    """The inbox list's cells, as plain text."""
    table = app.screen.query_one(ConversationList)
    return [[cell.plain for cell in table.get_row_at(i)] for i in range(table.row_count)]


def names(app: App[object]) -> list[str]:
    """The prospect names in the inbox list, in order."""
    return [row[2] for row in rows(app)]


def static_text(app: App[object], selector: str) -> str:
    """The plain text of a Static on the current screen."""
    return str(app.screen.query_one(selector, Static).render())


async def settle(pilot, times: int = 3) -> None:
    """Let workers and refreshes finish."""
    for _ in range(times):
        await pilot.pause()
    busy = [w for w in pilot.app.workers if w.group != "live" and not w.is_finished]
    if busy:  # an empty list would mean "every worker", the endless live listener included
        await pilot.app.workers.wait_for_complete(busy)
    await pilot.pause()


async def settle_until(pilot, done: Callable[[], bool], tries: int = 100) -> None:
    """Settle until ``done()`` holds: a live update goes through the bus and the app's queue
    before any worker starts, which a loaded machine can delay past one ``settle``."""
    for _ in range(tries):
        await settle(pilot, 1)
        if done():
            return
        await pilot.pause(0.05)
    raise AssertionError("the app never reached the expected state")


async def wait_for_decision(pilot, tries: int = 50) -> None:
    """Let the composer's typing pause pass and its orchestrator decision arrive: the decision
    for the text as it is now (a decision asked between two keys of a slow typist stays on the
    screen object while the panel says the next one is being asked)."""
    from core.i18n import t

    for _ in range(tries):
        await pilot.pause(0.1)
        await settle(pilot, 1)
        screen = pilot.app.screen
        if getattr(screen, "decision", None) is None:
            continue
        if t("ui.composer.deciding") not in str(screen.query_one("#decision", Static).render()):
            return
    raise AssertionError("the composer never showed the orchestrator's decision")
