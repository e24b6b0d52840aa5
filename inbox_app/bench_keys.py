"""Keypress to repaint, measured with Textual's Pilot on the bench dataset (``coccinelle bench``).

Each sample is one key event, posted to the app as Pilot does, until the app is idle again: the
messages it caused handled, the workers it started (page loads, thread loads) finished and the
screen refreshed. Pilot's ``press`` is not used for timing: its own waits cost about 60 ms. The
reference is the same down-arrow in a bare 50-row DataTable app, so the harness's idle detection
(about 20 ms) is in both.
"""

from __future__ import annotations

import time
from typing import Any

from textual import events
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from core.bench.context import BenchContext, Unavailable
from core.bench.results import Result, Summary, Target
from core.config.settings import load_settings

SIZE = (160, 48)


async def settle(pilot: Any) -> None:
    """Until the app is idle: messages handled, non-live workers done, screen refreshed."""
    await pilot.pause()
    busy = [w for w in pilot.app.workers if w.group != "live" and not w.is_finished]
    if busy:
        await pilot.app.workers.wait_for_complete(busy)
        await pilot.pause()


#: The character Textual gives each key we press.
CHARACTERS = {"down": None, "enter": "\r", "escape": "\x1b"}


async def _press(pilot: Any, key: str) -> float:
    """Milliseconds from posting ``key`` to the app being idle again."""
    start = time.perf_counter()
    pilot.app.post_message(events.Key(key, CHARACTERS[key]))
    await settle(pilot)
    return (time.perf_counter() - start) * 1000


class _Bare(App[None]):
    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("name", "channel", "preview")
        for i in range(50):
            table.add_row(f"Prospect {i}", "sms", "Bonjour, je souhaite un rendez-vous")
        table.focus()


async def _reference(count: int) -> Summary:
    app = _Bare()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        samples = [await _press(pilot, "down") for _ in range(count)]
    return Summary.of(samples)


async def _first_page(pilot: Any) -> DataTable[Any]:
    for _ in range(500):
        await settle(pilot)
        tables = [t for t in pilot.app.screen.query(DataTable) if t.row_count]
        if tables:
            return tables[0]
    raise Unavailable("the inbox list never showed rows")


async def measure(ctx: BenchContext) -> list[Result]:
    """Move in the list, switch the channel filter, open a thread: ``10 × runs`` presses each."""
    from inbox_app.app import InboxApp

    count = 10 * ctx.runs
    settings = load_settings(database_url=ctx.url, tenant=ctx.dataset.tenant, mode="local")
    app = InboxApp(settings=settings)
    samples: dict[str, list[float]] = {"keys.move": [], "keys.channel": [], "keys.open": []}
    async with app.run_test(size=SIZE) as pilot:
        table = await _first_page(pilot)
        table.focus()
        for _ in range(count):
            samples["keys.move"].append(await _press(pilot, "down"))
        for index in range(count):
            table.move_cursor(row=index % min(20, table.row_count))
            samples["keys.open"].append(await _press(pilot, "enter"))
            await pilot.press("escape")
            await settle(pilot)
            table.focus()
        samples["keys.channel"] = await _channels(pilot, count)
    reference = await _reference(count)
    return [
        Result(
            name, "ms", Summary.of(values), "p95", "keys.reference", reference, Target("p95", 50)
        )
        for name, values in samples.items()
        if values
    ]


async def _channels(pilot: Any, count: int) -> list[float]:
    """Pick each channel in the sidebar in turn (skipped if the app has no sidebar)."""
    try:
        from inbox_app.widgets.inbox.sidebar import Sidebar
    except ImportError:
        return []
    sidebar = pilot.app.screen.query_one(Sidebar)
    options = [sidebar.get_option_at_index(i).id for i in range(sidebar.option_count)]
    wanted = [o for o in options if o and (o.startswith("channel:") or o == "all")]
    taken = []
    for index in range(count):
        sidebar.focus()
        sidebar.highlighted = sidebar.get_option_index(wanted[index % len(wanted)])
        taken.append(await _press(pilot, "enter"))
    return taken
