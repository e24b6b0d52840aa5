"""The inbox: sidebar of channels and views, the conversation list, search and filters."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from datetime import UTC, datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Input, Static
from textual.worker import Worker

from core.domain.enums import Channel, ConversationStatus
from core.domain.inbox_filter import InboxFilter, Sort, View
from core.domain.models import ConversationSummary, Page
from core.errors import NotFound
from core.events import ConversationChanged, Event, MessageChanged, Resync
from core.i18n import t
from inbox_app.errors import notify_error
from inbox_app.notify_hook import run_hook, wanted
from inbox_app.render.safe import one_line
from inbox_app.render.words import channel_name
from inbox_app.screens.bulk_actions import BULK_BINDINGS, BulkActions
from inbox_app.screens.choice import ChoiceScreen
from inbox_app.screens.kept import KeptLines
from inbox_app.team import pick_assignee, take
from inbox_app.widgets.footer import Footer
from inbox_app.widgets.inbox.conversation_list import PREFETCH, ConversationList
from inbox_app.widgets.inbox.search_box import SearchBox
from inbox_app.widgets.inbox.sidebar import Sidebar
from inbox_app.widgets.team.link_status import LinkStatus

PAGE_SIZE = 50
#: A page read for the sidebar's highlighted option is shown when it is picked within this many
#: seconds (and nothing changed meanwhile); later, the page is read again.
AHEAD_SECONDS = 2.0
#: Rows drawn ahead between two looks at the app's other work (about 2 ms of drawing).
DRAWN_PER_STEP = 8
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SORTS = (Sort.NEWEST, Sort.PRIORITY, Sort.WAITING)
#: The search facet's steps (``v``): every state, then one state at a time.
SEARCH_FACETS = (
    frozenset(),
    frozenset({ConversationStatus.OPEN, ConversationStatus.PENDING}),
    frozenset({ConversationStatus.SNOOZED}),
    frozenset({ConversationStatus.CLOSED}),
)


class InboxScreen(KeptLines, BulkActions, Screen[None]):
    """The first screen: every conversation, newest first, filtered as the agent asks."""

    CSS_PATH = "inbox.tcss"
    #: Below 100 columns the sidebar narrows (class ``-narrow``) to leave the preview some room.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        Binding("slash", "search", t("ui.key.search"), id="search", tooltip=t("ui.tip.search")),
        Binding("s", "sort", t("ui.key.sort"), id="sort", tooltip=t("ui.tip.sort")),
        Binding(
            "v",
            "search_facet",
            t("searchui.key.facet"),
            id="search_facet",
            tooltip=t("searchui.tip.facet"),
            show=False,
        ),
        Binding("f", "filters", t("ui.key.filters"), id="filters", tooltip=t("ui.tip.filters")),
        Binding("n", "next_unread", t("ui.key.next"), id="next", tooltip=t("ui.tip.next")),
        Binding("r", "reply", t("ui.key.reply"), id="reply", tooltip=t("ui.tip.reply")),
        Binding(
            "N",
            "new_conversation",
            t("newconv.key"),
            id="new_conversation",
            tooltip=t("newconv.tip"),
            show=False,  # the footer is full at 80 columns; the help and the palette list it
        ),
        Binding(
            "a",
            "assign",
            t("teamui.key.assign"),
            id="assign",
            tooltip=t("teamui.tip.assign"),
            show=False,  # the footer is full at 80 columns; the help lists it
        ),
        Binding(
            "A",
            "take",
            t("teamui.key.take"),
            id="take",
            tooltip=t("teamui.tip.take"),
            show=False,
        ),
        Binding(
            "c",
            "calendar",
            t("booking.key.calendar"),
            id="calendar",
            tooltip=t("booking.tip.calendar"),
        ),
        Binding(
            "escape", "clear", t("ui.key.clear"), id="clear", tooltip=t("ui.tip.clear"), show=False
        ),
        *BULK_BINDINGS,
        Binding("q", "ask_quit", t("ui.key.quit"), id="quit", tooltip=t("ui.tip.quit")),
    ]

    #: Screen repaints all of itself when the focus moves (a 160×48 frame drawn in full); the
    #: widgets gaining and losing the focus restyle and repaint themselves, and nothing else on
    #: this screen looks different for it.
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    def __init__(self) -> None:
        super().__init__()
        self.filter = InboxFilter()
        self._cursor: str | None = None
        self._exhausted = False
        self._loading = False
        #: The first page of the filter the sidebar's highlight points at, read before it is
        #: picked (and the second, when ``_fetch_pages`` would read it): (filter, generation,
        #: when read, pages). Any change seen drops it.
        self._ahead: tuple[InboxFilter, int, float, tuple[Page, ...]] | None = None
        self._ahead_reading: tuple[InboxFilter, Worker[None]] | None = None
        #: Counts the changes seen (core events, reloads): a page read before one is stale.
        self._generation = 0
        #: The sidebar's counts changed while another screen was on top.
        self._counts_stale = False
        #: Counts the lists shown (each reload): a next page read for an earlier one is dropped.
        self._shown = 0

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield LinkStatus()
        with Horizontal(id="body"):
            yield Sidebar(id="sidebar")
            with Vertical(id="main"):
                yield SearchBox(
                    placeholder=t("ui.inbox.search_placeholder"), id="search", typed=self._typed
                )
                yield ConversationList(id="conversations")
        yield Footer()

    @property
    def table(self) -> ConversationList:
        """The conversation list."""
        return self.query_one(ConversationList)

    async def on_mount(self) -> None:
        self.query_one("#search", Input).display = False
        self.table.focus()
        with contextlib.suppress(Exception):  # the agency's zone: when snoozed rows wake
            self.table.tz = await self.app.tenant_timezone()
        await self.reload()
        self.call_after_refresh(self.app.first_page_shown)

    # -- loading ---------------------------------------------------------------------------

    async def reload(self, counts: bool = True) -> None:
        """Reload the first page of the current filter, and the counts unless told not to.

        Both are read first, then the screen changes all at once: the list never shows empty
        meanwhile, and the table is repainted once rather than row by row.
        """
        self._cursor, self._exhausted = None, False
        wanted = self.filter
        keep = self.table.current_id()
        first_pages = await self._pages_read_ahead() or [await self._fetch_page()]
        pages = await self._enough_pages(first_pages, keep)
        self._forget_ahead()  # whatever changed, this reload was asked for it
        read = await self._read_counts() if counts else None
        if self.filter != wanted:  # asked for another filter meanwhile: that reload shows it
            if read is not None:
                self.query_one(Sidebar).show_counts(read)
            return
        self._shown += 1
        self._show_title()
        self.table.query_text = self.filter.search
        self.table.reset()
        for page in pages:
            self._show_page(page)
        if read is not None:
            self.query_one(Sidebar).show_counts(read)
        if keep is not None and keep in self.table.summaries:
            self.table.measure_now()  # the list scrolls to the row now, not after a frame
            self.table.move_cursor(row=self.table.get_row_index(str(keep)))
        self._repaint_together(self.query_one("#title"), self.table, self.query_one(Sidebar))

    def _repaint_together(self, *widgets: Widget) -> None:
        """Put the widgets' pending repaints in this screen's next frame.

        A widget hands its repaint to the screen when it is next idle: after this handler, the
        screen may already have drawn the frame without it, and the late one then costs a
        second frame a refresh period (1/60 s) later. Handed over now, the screen gets them
        before it is idle, and the key is answered by one frame.
        """
        self.table.measure_now()
        bars = (self.table._horizontal_scrollbar, self.table._vertical_scrollbar)
        for widget in (*widgets, *(bar for bar in bars if bar is not None)):
            widget._check_refresh()

    async def refilter(self, wanted: InboxFilter) -> None:
        """Show ``wanted`` (the counts per channel do not depend on the filter: not re-read)."""
        self.filter = wanted
        await self.reload(counts=False)

    def _forget_ahead(self) -> None:
        self._generation += 1
        self._ahead = None

    async def _pages_read_ahead(self) -> list[Page | None]:
        """The current filter's first pages if they were read ahead (or are being read: they
        are awaited), recently and with nothing changed since; else none."""
        reading = self._ahead_reading
        if reading is not None and reading[0] == self.filter and reading[1].is_running:
            with contextlib.suppress(Exception):  # a failed read is read again and reported
                await reading[1].wait()
        ahead, fresh = self._ahead, self._is_read_ahead(self.filter)
        self._ahead = None
        return list(ahead[3]) if ahead is not None and fresh else []

    async def _enough_pages(self, pages: list[Page | None], keep: int | None) -> list[Page]:
        """The first of ``pages``, and the next one too (read if it is not among them) when the
        highlighted conversation ``keep``, highlighted again, lands near the first page's
        end: the list would ask for that page at once and show it in a frame of its own."""
        first = pages[0]
        if first is None:
            return []
        if not lands_near_end(first, keep):
            return [first]
        following = pages[1] if len(pages) > 1 else await self._fetch_page(first.next_cursor)
        return [first] if following is None else [first, following]

    def _is_read_ahead(self, wanted: InboxFilter) -> bool:
        """Whether ``wanted``'s first page was read ahead, and still stands."""
        ahead = self._ahead
        return (
            ahead is not None
            and ahead[0] == wanted
            and ahead[1] == self._generation
            and time.monotonic() - ahead[2] <= AHEAD_SECONDS
        )

    @on(Sidebar.Considered)
    def _considered(self, event: Sidebar.Considered) -> None:
        """The sidebar's highlight moved: read the page that Enter would show."""
        if not self.app.service_ready.is_set():  # picked, the page is read then
            return
        wanted = self._picked_filter(event.channel, event.view)
        if wanted is not None:
            self._ahead_reading = (wanted, self._read_ahead(wanted))

    @work(exclusive=True, group="ahead")
    async def _read_ahead(self, wanted: InboxFilter) -> None:
        generation = self._generation
        keep = self.table.current_id()
        read = self.app.service.conversations.page
        try:
            pages = [await read(wanted, None, PAGE_SIZE)]
            if lands_near_end(pages[0], keep):
                pages.append(await read(wanted, pages[0].next_cursor, PAGE_SIZE))
        except Exception:  # picked, the page is read again and what failed is said then
            return
        if generation == self._generation:
            self._ahead = (wanted, generation, time.monotonic(), tuple(pages))
            if wanted.search == self.table.query_text:
                for page in pages:
                    self.table.prepare(page.items, self.app.now())
                self._draw_ahead(pages[0], keep)

    @work(exclusive=True, group="draw-ahead")
    async def _draw_ahead(self, page: Page, keep: int | None) -> None:
        """Draw the rows ``page`` shows once picked (the list focused, the cursor on ``keep``
        or on the first row), a few at a time: Enter then finds them drawn."""
        ids = [item.id for item in page.items]
        cursor_row = ids.index(keep) if keep in ids else 0
        for drawn, _ in enumerate(self.table.draw_ahead(page.items, self.app.now(), cursor_row)):
            if drawn % DRAWN_PER_STEP == DRAWN_PER_STEP - 1:
                await asyncio.sleep(0)

    async def _load_page(self) -> None:
        if self._exhausted or self._loading:
            return
        shown = self._shown
        page = await self._fetch_page(self._cursor)
        if page is not None and shown == self._shown:  # else: read for a list since replaced
            self._show_page(page)
        note = getattr(self.app, "note_activity", None)
        if note is not None:  # pages read one after another: no full collection between
            note()

    async def _fetch_page(self, after: str | None = None) -> Page | None:
        """The page of the current filter after the keyset cursor ``after`` (None: the
        first); None (and a notice) when it cannot be read."""
        self._loading = True
        try:
            first = self.app.take_first_page(self.filter, after, PAGE_SIZE)
            if first is not None:
                return first
            await self.app.until_service()
            return await self.app.service.conversations.page(self.filter, after, PAGE_SIZE)
        except Exception as exc:
            notify_error(self.app, exc)
            self._exhausted = True
            return None
        finally:
            self._loading = False

    def _show_page(self, page: Page) -> None:
        self._cursor = page.next_cursor
        self._exhausted = page.next_cursor is None
        self.table.append(page.items, self.app.now())
        if not self.table.row_count:
            self.notify(t("ui.inbox.empty"), timeout=3)

    async def _read_counts(self) -> dict[str, tuple[int, int]] | None:
        try:
            first = self.app.first_counts()
            if first is not None:
                return first
            await self.app.until_service()
            return await self.app.service.conversations.counts()
        except Exception as exc:
            notify_error(self.app, exc)
            return None

    async def _refresh_counts(
        self,
        before: ConversationSummary | None = None,
        after: ConversationSummary | None = None,
    ) -> None:
        """Read the counts again; while another screen is on top, a change of one conversation
        shown in the list (``before`` → ``after``) is counted without a query, anything else
        is read when the inbox shows again."""
        if not self.is_current:
            shown = self.query_one(Sidebar).counts
            if self._counts_stale or shown is None or before is None or after is None:
                self._counts_stale = True
            else:
                self.query_one(Sidebar).show_counts(recount(shown, before, after))
            return
        self._counts_stale = False
        counts = await self._read_counts()
        if counts is not None:
            self.query_one(Sidebar).show_counts(counts)

    async def on_screen_resume(self) -> None:
        """Back on the inbox: the counts that changed while it was hidden are read now."""
        self._read_threads_ahead()
        if self._counts_stale:
            await self._refresh_counts()

    @on(DataTable.RowHighlighted, "#conversations")
    def _rested(self) -> None:
        self._read_threads_ahead()

    def _read_threads_ahead(self) -> None:
        """Have the threads that Enter and ``n`` would open read while the agent rests (not
        for a search: its thread screen reads every match)."""
        current = self.table.current_id()
        if current is None or self.filter.search:
            return
        following = self.next_unread(current)
        self.app.read_threads_ahead([current] if following is None else [current, following])

    def _show_title(self) -> None:
        f = self.filter
        parts = [t(f"ui.view.{f.view}") if f.view is not View.ALL else t("ui.inbox.all")]
        if f.channel:
            parts.append(channel_name(f.channel))
        parts.append(t(f"ui.sort.{f.sort}"))
        if f.statuses:
            parts.append(", ".join(t(f"common.status.{s}") for s in sorted(f.statuses)))
        if f.label:
            parts.append(t("ui.inbox.label_is", label=one_line(f.label)))
        if f.since or f.until:
            since = f.since.date().isoformat() if f.since else "…"
            until = f.until.date().isoformat() if f.until else "…"
            parts.append(t("ui.inbox.dates", since=since, until=until))
        if f.search:
            parts.append(t("ui.inbox.searching", query=one_line(f.search, 40)))
            if not f.statuses and f.view is View.ALL:
                parts.append(t("searchui.all_states"))
        tagged = self.tagged_note()
        if tagged:
            parts.append(tagged)
        title = Text(
            t("common.app_name") + " — " + " · ".join(parts), no_wrap=True, overflow="ellipsis"
        )
        # one line the screen's width (app.tcss): a new title needs no layout of the screen
        self.query_one("#title", Static).update(title, layout=False)

    @on(ConversationList.NeedMore)
    async def _more(self) -> None:
        if self.table.near_end():
            await self._load_page()

    # -- choosing --------------------------------------------------------------------------

    def _picked_filter(self, channel: Channel | None, view: View) -> InboxFilter | None:
        """The filter a sidebar option stands for (None: "mine" without an agent)."""
        if view is View.MINE and self.app.service.ctx.agent_id is None:
            return None
        return dataclasses.replace(self.filter, channel=channel, view=view)

    @on(Sidebar.Picked)
    async def _picked(self, event: Sidebar.Picked) -> None:
        wanted = self._picked_filter(event.channel, event.view)
        if wanted is None:
            # without an agent "mine" would mean "nobody's": say what is missing instead
            message = t("teamui.agent.mine_needs_agent")
            self.notify(message, severity="warning", timeout=8, markup=False)
            return
        # the list takes the focus first: its new look is painted while the page is read, and
        # the new rows are then drawn once, focused
        blurred = self.focused
        self.table.focus()
        if not self._is_read_ahead(wanted):
            await self.refilter(wanted)
            return
        with self.app.batch_update():  # the new looks and the new rows: one frame
            # their Focus and Blur events: the list and the sidebar restyle
            await self._handled_so_far(self.table, blurred)
            await self.refilter(wanted)

    @staticmethod
    async def _handled_so_far(*widgets: Widget | None) -> None:
        """Once the widgets handled the messages posted to them so far."""
        for widget in widgets:
            done = asyncio.Event()
            if widget is not None and widget.call_later(done.set):
                await done.wait()

    @on(ConversationList.Opened)
    async def _opened(self, event: ConversationList.Opened) -> None:
        await self.open_conversation(event.conversation_id)

    async def open_conversation(self, conversation_id: int, reply: bool = False) -> None:
        """Show one conversation (from a search: its matches marked, `n`/`N` between them)."""
        if self.filter.search and not reply:
            from inbox_app.screens.search_thread import SearchThreadScreen

            await self.app.push_screen(SearchThreadScreen(conversation_id, self.filter.search))
            return
        await self.app.open_conversation(conversation_id, reply=reply)

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.display = True
        box.focus()

    def _typed(self, value: str) -> None:
        """Search as you type (the search box tells each new text at once): each key narrows
        the list. The search of the key before is cancelled (the newest key's list is the one
        shown; a page read for an older one is never shown after it: ``reload``)."""
        box = self.query_one("#search", SearchBox)
        if box.display:
            self._search_for(value.strip() or None, box.hold_echo())

    @work(exclusive=True, group="search")
    async def _search_for(self, query: str | None, echo: int) -> None:
        """Show the search for ``query``; the box's echo of the key (held: ``echo``) is drawn
        in the same frame as the list."""
        try:
            # compared with what the list shows too: a search cancelled by the key after it set
            # the filter but showed nothing ("mar", then "mar " or "ma" then "mar" typed fast)
            if query != self.filter.search or query != self.table.query_text:
                await self.refilter(dataclasses.replace(self.filter, search=query))
        finally:
            self.query_one("#search", SearchBox).release_echo(echo)

    @on(Input.Submitted, "#search")
    async def _searched(self, event: Input.Submitted) -> None:
        query = event.value.strip() or None
        if not query:
            event.input.display = False
        if query != self.filter.search:
            await self.refilter(dataclasses.replace(self.filter, search=query))
        self.table.focus()

    async def action_clear(self) -> None:
        box = self.query_one("#search", Input)
        box.display = False  # first, so that emptying it is not a search
        box.value = ""
        had_tags = bool(self.table.tagged)
        self.table.tagged.clear()
        cleared = InboxFilter(sort=self.filter.sort)
        if cleared != self.filter or had_tags:
            await self.refilter(cleared)
        self.table.focus()

    async def action_search_facet(self) -> None:
        """Narrow a search to one state, in turn: every state, open, snoozed, closed."""
        facets = list(SEARCH_FACETS)
        current = facets.index(self.filter.statuses) if self.filter.statuses in facets else 0
        statuses = facets[(current + 1) % len(facets)]
        self.filter = dataclasses.replace(self.filter, statuses=statuses)
        await self.reload()

    async def action_sort(self) -> None:
        position = SORTS.index(self.filter.sort)
        await self.refilter(
            dataclasses.replace(self.filter, sort=SORTS[(position + 1) % len(SORTS)])
        )

    def action_filters(self) -> None:
        from inbox_app.screens.filters import FilterScreen

        async def apply(result: InboxFilter | None) -> None:
            if result is not None:
                await self.refilter(result)

        self.app.push_screen(FilterScreen(self.filter), apply)

    def action_new_conversation(self) -> None:
        """Write to a prospect who may have no conversation yet (found by name, phone…)."""
        from inbox_app.screens.new_conversation import start_new_conversation

        start_new_conversation(self.app)

    async def action_reply(self) -> None:
        current = self.table.current_id()
        if current is not None:
            await self.open_conversation(current, reply=True)

    async def action_assign(self) -> None:
        current = self.table.current_id()
        if current is None:
            self.notify(t("teamui.assign.nothing"), timeout=3)
            return
        await pick_assignee(self.app, current, lambda: self._conversation_changed(current, False))

    async def action_take(self) -> None:
        current = self.table.current_id()
        if current is None:
            self.notify(t("teamui.assign.nothing"), timeout=3)
        elif await take(self.app, current):
            await self._conversation_changed(current, False)

    async def action_next_unread(self) -> None:
        """Open the next conversation with unread activity after the highlighted one."""
        target = self.next_unread(self.table.current_id())
        if target is None:
            self.notify(t("ui.inbox.no_unread"), timeout=3)
            return
        await self.open_conversation(target)
        # once the thread's frame is drawn: the move, its highlight message and the reads
        # ahead it starts are not the key's work (nor is the list painted for it first)
        self.app.screen.call_after_refresh(self._highlight_opened, target)

    def _highlight_opened(self, conversation_id: int) -> None:
        """Put the list's cursor on the conversation ``n`` opened (if it is still listed)."""
        if conversation_id in self.table.summaries:
            self.table.move_cursor(row=self.table.get_row_index(str(conversation_id)))

    def next_unread(self, after: int | None) -> int | None:
        """The first loaded conversation with unread messages after ``after`` (wrapping)."""
        ids = self.table.ids()
        start = ids.index(after) + 1 if after in ids else 0
        for conversation_id in ids[start:] + ids[:start]:
            if conversation_id != after and self.table.summaries[conversation_id].unread_count:
                return conversation_id
        return None

    def action_ask_quit(self) -> None:
        """Quit once the agent confirms (``q`` means Back elsewhere: here there is no back)."""

        def answered(choice: str | None) -> None:
            if choice == "yes":
                self.app.exit()

        choices = [("yes", t("ui.ask.quit_yes")), ("no", t("ui.ask.quit_no"))]
        self.app.push_screen(ChoiceScreen(t("ui.ask.quit"), choices), answered)

    # -- live ------------------------------------------------------------------------------

    async def core_event(self, event: Event) -> None:
        """Refresh only what the event changed."""
        self._forget_ahead()
        if isinstance(event, Resync):
            await self.reload()
        elif isinstance(event, ConversationChanged | MessageChanged):
            await self._conversation_changed(
                event.conversation_id, isinstance(event, MessageChanged)
            )

    async def _conversation_changed(self, conversation_id: int, new_message: bool) -> None:
        self._forget_ahead()
        service = self.app.service
        try:
            conversation = await service.conversations.get(conversation_id)
        except NotFound:
            self.table.drop(conversation_id)
            return
        summary = ConversationSummary.model_validate(
            conversation.model_dump(include=set(ConversationSummary.model_fields))
        )
        shown = self.table.summaries.get(conversation_id)
        if shown is not None and shown.match_snippet:  # a search result keeps why it matched
            summary = summary.model_copy(update={"match_snippet": shown.match_snippet})
        await self._refresh_counts(shown, summary)
        if not self._still_matches(summary):
            self.table.drop(conversation_id)
        elif conversation_id in self.table.summaries:
            self.table.update_item(summary, self.app.now())
            self._keep_order()
        elif self._belongs_in_loaded_rows(summary):
            self.table.append((summary,), self.app.now())
            self._keep_order()
        if new_message and summary.unread_count:
            self._run_hook(summary)

    def _belongs_in_loaded_rows(self, summary: ConversationSummary) -> bool:
        """A conversation new to the list goes in place when it sorts among the loaded rows
        (newest first, no search); otherwise it comes with the page where it belongs."""
        if self.filter.sort is not Sort.NEWEST or self.filter.search:
            return False
        loaded = self.table.summaries.values()
        oldest = min((s.last_message_at or _EPOCH for s in loaded), default=None)
        when = summary.last_message_at or _EPOCH
        return self._exhausted or oldest is None or when >= oldest

    def _keep_order(self) -> None:
        """Newest first: a conversation with a new message moves up, in place."""
        if self.filter.sort is Sort.NEWEST:
            summaries = self.table.summaries.values()
            ordered = sorted(
                summaries, key=lambda s: (s.last_message_at or _EPOCH, s.id), reverse=True
            )
            self.table.put_in_order([s.id for s in ordered])

    def _still_matches(self, summary: ConversationSummary) -> bool:
        f = self.filter
        if f.channel and summary.channel != f.channel:
            return False
        if f.statuses and summary.status not in f.statuses:
            return False
        if f.view is View.MINE and summary.assignee_id != self.app.service.ctx.agent_id:
            return False
        if f.view is View.UNASSIGNED and summary.assignee_id is not None:
            return False
        if f.search and f.view is View.ALL:
            return True  # a search looks in every state
        views = {View.SNOOZED: {"snoozed"}, View.CLOSED: {"closed"}}
        return str(summary.status) in views.get(f.view, {"open", "pending"})

    @work(group="hook")
    async def _run_hook(self, summary: ConversationSummary) -> None:
        settings = self.app.settings
        if not settings.notify_command:
            return
        if wanted(summary, settings.notify_scope, self.app.service.ctx.agent_id):
            await run_hook(
                settings.notify_command,
                t("ui.hook.title", name=one_line(summary.prospect_name, 80)),
                summary.last_message_preview,
            )

    def action_calendar(self) -> None:
        """The calendar of appointments (today; ``w`` for the week)."""
        from inbox_app.screens.calendar import CalendarScreen

        self.app.push_screen(CalendarScreen())


_COUNTED = (ConversationStatus.OPEN, ConversationStatus.PENDING)


def lands_near_end(page: Page, keep: int | None) -> bool:
    """Whether the conversation ``keep``, highlighted again on ``page`` shown alone, would be
    within ``PREFETCH`` rows of its end while more pages follow (the list would then ask for
    the next page)."""
    if keep is None or page.next_cursor is None:
        return False
    ids = [item.id for item in page.items]
    return keep in ids and ids.index(keep) >= len(ids) - PREFETCH


def recount(
    counts: dict[str, tuple[int, int]], before: ConversationSummary, after: ConversationSummary
) -> dict[str, tuple[int, int]]:
    """The sidebar's (unread, total) counts once one conversation went from ``before`` to
    ``after`` (the counts are of open and pending conversations, per channel and "all")."""
    out = dict(counts)
    for summary, sign in ((before, -1), (after, 1)):
        if summary.status not in _COUNTED:
            continue
        unread = sign if summary.unread_count else 0
        for key in (str(summary.channel), "all"):
            u, n = out.get(key, (0, 0))
            out[key] = (u + unread, n + sign)
    return out
