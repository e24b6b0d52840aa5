"""Keypress to repaint, measured with Textual's Pilot on the bench dataset (``coccinelle bench``).

Each sample posts one key event to the app, as Pilot does, and ends at the last frame the app's
compositor wrote before the app was idle again (``FrameClock``): the messages the key caused
handled, the workers it started finished, the screen repainted. The reference is the same
down-arrow in a bare 50-row DataTable app, timed the same way in the same run. The collector's
pauses during the app's keys are measured too (``keys.gc_pause``).
"""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import closing
from typing import TYPE_CHECKING, Any, cast

from textual import events
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from core.bench.context import BenchContext, Unavailable
from core.bench.gc_pauses import GcPauses
from core.bench.results import Result, Summary, Target
from core.config.settings import load_settings
from core.storage.database import sqlite_url
from inbox_app.bench_frames import FrameClock

if TYPE_CHECKING:
    from inbox_app.widgets.inbox.conversation_list import ConversationList

SIZE = (160, 48)
#: The issue's floors (p95, milliseconds); the list move has the tighter one.
FLOORS = {"keys.move": 33.0}
FLOOR = 50.0
#: Shown without a floor: a long thread opened before its row rested (nothing read ahead).
UNTARGETED = frozenset({"keys.open_long_cold"})
#: One frame at 60 Hz: no collection during the keys may take longer.
FRAME_MS = 16.0
#: What the search box is given, one key at a time: common first-name beginnings, none of them
#: (nor its first letter) given twice in the first 51 keys. A search typed again finds what the
#: app read and drew the first time (the database's pages, the list's cells and lines); a
#: person searching types something new.
SEARCHES = (
    "mar", "jea", "luc", "sop", "oli", "ben", "cam", "pie", "tho",
    "hug", "ana", "rem", "fra", "gui", "emi", "zoe", "nic",
)  # fmt: skip
#: A long thread for ``keys.open_long``: at least this many messages.
LONG_THREAD = 200


async def settle(pilot: Any) -> None:
    """Until the app is idle: messages handled, non-live workers done, screen refreshed."""
    await pilot.pause()
    busy = [w for w in pilot.app.workers if w.group != "live" and not w.is_finished]
    if busy:
        await pilot.app.workers.wait_for_complete(busy)
        await pilot.pause()


Done = Callable[[], bool]

#: The character Textual gives each named key we press (letters are their own character).
CHARACTERS = {"down": None, "enter": "\r", "escape": "\x1b", "slash": "/"}


class Keys:
    """Posts keys to a running app and times each to its last repaint."""

    def __init__(self, pilot: Any) -> None:
        self.pilot = pilot
        self.clock = FrameClock(pilot.app)
        self.frameless = 0
        self.strays = 0

    async def timed(self, act: Callable[[], Any], until: Done | None = None) -> float:
        """Milliseconds from ``act()`` to the last frame written before the app is idle (and,
        if given, ``until()`` holds: a new screen has read what it shows)."""
        self.clock.reset()
        start = time.perf_counter()
        done = act()
        if isinstance(done, Awaitable):
            await done
        await settle(self.pilot)
        for _ in range(2000):
            if until is None or until():
                break
            await self.pilot.pause(0.001)
            await settle(self.pilot)
        else:
            raise Unavailable("the app never showed what the key asked for")
        elapsed = self.clock.since(start)
        if elapsed is None:  # nothing to repaint: the whole wait is the (upper-bound) sample
            self.frameless += 1
            elapsed = (time.perf_counter() - start) * 1000
        return elapsed

    async def press(self, key: str, until: Done | None = None) -> float:
        """Milliseconds from posting ``key`` to its last repaint."""
        character = CHARACTERS.get(key, key)
        post = lambda: self.pilot.app.post_message(events.Key(key, character))  # noqa: E731
        return await self.timed(post, until)

    async def untimed(self, key: str, until: Done | None = None) -> None:
        """Press ``key`` and let the app settle (the way back between samples)."""
        await self.timed(
            lambda: self.pilot.app.post_message(events.Key(key, CHARACTERS.get(key, key))), until
        )

    def on_thread(self) -> bool:
        """A conversation screen showing its thread."""
        screen = self.pilot.app.screen
        return type(screen).__name__ == "ConversationScreen" and bool(getattr(screen, "ready", 0))

    async def home(self) -> None:
        """Back to the inbox if a key left another screen on top (counted in ``strays``)."""
        app = self.pilot.app
        while not self.on_inbox() and len(app.screen_stack) > 2:
            self.strays += 1
            await app.pop_screen()
            await settle(self.pilot)

    def on_inbox(self) -> bool:
        """Back on the inbox."""
        return type(self.pilot.app.screen).__name__ == "InboxScreen"


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
        keys = Keys(pilot)
        samples = [await keys.press("down") for _ in range(count)]
    return Summary.of(samples)


async def _first_page(pilot: Any) -> DataTable[Any]:
    for _ in range(500):
        await settle(pilot)
        tables = [t for t in pilot.app.screen.query(DataTable) if t.row_count]
        if tables:
            return tables[0]
    raise Unavailable("the inbox list never showed rows")


def _long_threads(ctx: BenchContext, count: int) -> list[tuple[int, int]]:
    """(conversation id, messages) of up to ``count`` threads of at least ``LONG_THREAD``
    messages, the shortest such first; the longest threads if none is that long."""
    with closing(sqlite3.connect(f"file:{ctx.dataset.path}?mode=ro", uri=True)) as con:
        rows = con.execute(
            "SELECT conversation_id, count(*) AS n FROM messages GROUP BY conversation_id"
            " ORDER BY (n < ?) , CASE WHEN n >= ? THEN n ELSE -n END LIMIT ?",
            (LONG_THREAD, LONG_THREAD, count),
        ).fetchall()
    return [(int(a), int(b)) for a, b in rows]


def _all_long_threads(ctx: BenchContext) -> dict[int, int]:
    """Messages per conversation of every thread of at least ``LONG_THREAD`` messages."""
    with closing(sqlite3.connect(f"file:{ctx.dataset.path}?mode=ro", uri=True)) as con:
        rows = con.execute(
            "SELECT conversation_id, count(*) AS n FROM messages GROUP BY conversation_id"
            " HAVING n >= ?",
            (LONG_THREAD,),
        ).fetchall()
    return {int(a): int(b) for a, b in rows}


async def measure(ctx: BenchContext) -> list[Result]:
    """Every key scenario, ``10 × runs`` samples each, then the bare reference."""
    count = 10 * ctx.runs
    threads = _long_threads(ctx, ctx.runs)
    longs = _all_long_threads(ctx) or dict(threads)
    with ctx.copy("keys") as copy:  # each conversation opened is marked read: not in the dataset
        samples, pauses, keys, rows = await _measure_keys(
            ctx, sqlite_url(copy), count, threads, longs
        )
    reference = await _reference(count)
    results = [
        Result(
            name,
            "ms",
            Summary.of(values),
            "p95",
            "keys.reference",
            reference,
            None if name in UNTARGETED else Target("p95", FLOORS.get(name, FLOOR)),
            details={"frameless": keys.frameless, "strays": keys.strays}
            if name == "keys.move"
            else {},
        )
        for name, values in samples.items()
        if values
    ]
    for result in results:
        if result.name == "keys.open_long":
            result.details["messages"] = [longs[i] for i in rows]
        elif result.name == "keys.open_long_cold":
            result.details["messages"] = [n for _, n in threads]
    gc_summary = Summary.of(pauses.durations or [0.0])
    results.append(
        Result(
            "keys.gc_pause",
            "ms",
            gc_summary,
            "max",
            target=Target("max", FRAME_MS),
            details=pauses.details(),
        )
    )
    return results


async def _measure_keys(
    ctx: BenchContext,
    url: str,
    count: int,
    threads: list[tuple[int, int]],
    longs: dict[int, int],
) -> tuple[dict[str, list[float]], GcPauses, Keys, list[int]]:
    """The samples of each scenario, in the app opened on ``url``, the collector's pauses,
    and the long threads opened from their rows."""
    from inbox_app.app import InboxApp

    settings = load_settings(database_url=url, tenant=ctx.dataset.tenant, mode="local")
    app = InboxApp(settings=settings, calm_memory=True)  # as the launcher starts it
    samples: dict[str, list[float]] = {}
    async with app.run_test(size=SIZE) as pilot:
        table = await _first_page(pilot)
        await _loaded_after_paint(pilot)
        table.focus()
        keys = Keys(pilot)
        with GcPauses() as pauses:
            samples["keys.move"] = [await keys.press("down") for _ in range(count)]
            # before the opens below, which read (and so use up) unread conversations
            samples["keys.next_unread"] = await _next_unread(keys, table, count)
            await keys.home()
            samples["keys.open"], samples["keys.back"] = await _open_and_back(keys, table, count)
            await keys.home()
            samples["keys.search"] = await _search(keys, count)
            await keys.home()
            samples["keys.channel"] = await _channels(keys, count)
            await keys.home()
            inbox_list = cast("ConversationList", table)
            rows = await _long_rows(keys, inbox_list, longs, ctx.runs)
            samples["keys.open_long"] = await _open_long_rows(keys, inbox_list, rows, count)
            await keys.home()
            samples["keys.open_long_cold"] = await _open_long(keys, threads, count)
    return samples, pauses, keys, rows


async def _loaded_after_paint(pilot: Any) -> None:
    """Until the app has opened its service and imported what it loads a moment after its
    first paint (the conversation screen's module, ``READER_IMPORT_DELAY``): start-up work,
    not a key's."""
    from inbox_app.app import READER_MODULE

    for _ in range(100):
        if READER_MODULE in sys.modules and pilot.app.service_ready.is_set():
            return
        await pilot.pause(0.05)


async def _open_and_back(keys: Keys, table: DataTable[Any], count: int) -> tuple[list, list]:
    """Enter on one of the first rows, then Escape back to the inbox."""
    opened, back = [], []
    for index in range(count):
        table.move_cursor(row=index % min(20, table.row_count))
        await settle(keys.pilot)
        opened.append(await keys.press("enter", keys.on_thread))
        back.append(await keys.press("escape", keys.on_inbox))
        table.focus()
    return opened, back


async def _next_unread(keys: Keys, table: DataTable[Any], count: int) -> list[float]:
    """``n`` in the inbox opens the next unread conversation; Escape (untimed) comes back.

    Each one opened is read, so a small dataset may run out of unread conversations first.
    """
    inbox = keys.pilot.app.screen
    for _ in range(20):  # the newest page may hold no unread conversation: load more first
        if inbox.next_unread(table.current_id()) is not None:
            break
        await inbox._load_page()
        await settle(keys.pilot)
    taken = []
    for _ in range(count):
        if inbox.next_unread(table.current_id()) is None:
            break
        taken.append(await keys.press("n", keys.on_thread))
        await keys.untimed("escape", keys.on_inbox)
        table.focus()  # already focused, it repaints: not the next key's work
        await settle(keys.pilot)
    return taken


async def _search(keys: Keys, count: int) -> list[float]:
    """``/`` then a name typed one key at a time: each key is a sample, which ends once the
    list shows what was typed so far; Escape clears."""
    taken: list[float] = []
    word = 0
    while len(taken) < count:
        await keys.untimed("slash")
        typed = ""
        for letter in SEARCHES[word % len(SEARCHES)]:
            typed += letter
            taken.append(await keys.press(letter, lambda: _searched(keys, typed)))  # noqa: B023
        await keys.untimed("escape")
        word += 1
    return taken[:count]


def _searched(keys: Keys, typed: str) -> bool:
    """The inbox lists the search for ``typed``, its matches highlighted."""
    screen = keys.pilot.app.screen
    search = getattr(getattr(screen, "filter", None), "search", None)
    return search == typed and screen.table.query_text == typed


async def _channels(keys: Keys, count: int) -> list[float]:
    """Pick each channel in the sidebar in turn (skipped if the app has no sidebar)."""
    from inbox_app.widgets.inbox.sidebar import Sidebar

    sidebar = keys.pilot.app.screen.query_one(Sidebar)
    options = [sidebar.get_option_at_index(i).id for i in range(sidebar.option_count)]
    wanted = [o for o in options if o and (o.startswith("channel:") or o == "all")]
    taken = []
    for index in range(count):
        await keys.home()
        for _ in range(50):
            sidebar.focus()
            await settle(keys.pilot)
            if keys.pilot.app.focused is sidebar:
                break
        else:
            keys.strays += 1
            continue
        sidebar.highlighted = sidebar.get_option_index(wanted[index % len(wanted)])
        await settle(keys.pilot)
        taken.append(await keys.press("enter"))
    return taken


#: Pages of the inbox read, at most, to find rows of long threads (50 rows a page).
LONG_PAGES = 120


async def _long_rows(
    keys: Keys, table: ConversationList, longs: dict[int, int], wanted: int
) -> list[int]:
    """Up to ``wanted`` conversations of long threads that are rows of the inbox, the newest
    first: the inbox reads more pages (as scrolling down does) until it shows them."""
    inbox = keys.pilot.app.screen
    for _ in range(LONG_PAGES):
        found = [i for i in table.ids() if i in longs]
        if len(found) >= wanted or inbox._exhausted:
            break
        await inbox._load_page()
        await settle(keys.pilot)
    return [i for i in table.ids() if i in longs][:wanted]


async def _open_long_rows(
    keys: Keys, table: ConversationList, rows: list[int], count: int
) -> list[float]:
    """Enter on the row of a long thread, after resting on it, as an agent opens one: the
    cursor moved there and the app idle (the thread read and drawn ahead, as for any row);
    Escape (untimed) comes back."""
    taken: list[float] = []
    for index in range(count if rows else 0):
        table.move_cursor(row=table.get_row_index(str(rows[index % len(rows)])))
        await settle(keys.pilot)
        taken.append(await keys.press("enter", keys.on_thread))
        await keys.untimed("escape", keys.on_inbox)
        await keys.home()
        table.focus()
        await settle(keys.pilot)
    return taken


async def _open_long(keys: Keys, threads: list[tuple[int, int]], count: int) -> list[float]:
    """Open a thread of at least ``LONG_THREAD`` messages by its id, not read ahead: what
    Enter costs when pressed before the row has rested (or a link to the thread)."""
    from inbox_app.screens.inbox import InboxScreen

    if not threads:
        return []
    inbox = keys.pilot.app.screen
    if not isinstance(inbox, InboxScreen):
        raise Unavailable(f"not on the inbox but on {type(inbox).__name__}")
    taken = []
    for index in range(count):
        conversation_id = threads[index % len(threads)][0]
        opening = lambda: inbox.open_conversation(conversation_id)  # noqa: B023, E731
        taken.append(await keys.timed(opening, keys.on_thread))
        await keys.untimed("escape", keys.on_inbox)
        await keys.home()
    return taken
