"""The Textual application: opens the inbox, relays the core's events to the screens."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from core.config.settings import Settings
from core.errors import CoccinelleError
from core.events import Alert, ConnectionState, Event, Resync, SettingsChanged
from core.i18n import t
from inbox_app.errors import notify_error
from inbox_app.keymap import KeymapError, check_keymap
from inbox_app.list_keys import LIST_ACTIONS, LIST_BINDINGS, ListKeyActions, focused_list
from inbox_app.palette import ActionsProvider
from inbox_app.render.safe import one_line
from inbox_app.team import choose_agent_at_start
from inbox_app.thread_window import FIRST_PAGE
from inbox_app.threads_ahead import ThreadsAhead
from inbox_app.typeahead import TypeAhead
from inbox_app.widgets.caches import untie_strips

if TYPE_CHECKING:
    from core.domain.inbox_filter import InboxFilter
    from core.domain.models import ConversationSummary, Page, Thread
    from core.engine import Engine
    from core.service import InboxService
    from core.storage.inbox_list import FirstScreen
    from inbox_app.memory import IdleCollector
    from inbox_app.screens.conversation import ConversationScreen

#: How long quitting waits for the workers still reading the database.
WORKERS_EXIT_SECONDS = 2.0
#: Worker groups that run until the app ends (quitting does not wait for them).
FOREVER = frozenset({"live"})
#: Seconds the inbox's cursor rests on a row before the threads it would open are read.
THREADS_AHEAD_DELAY = 0.05
#: Seconds after the first paint before the conversation screen's module is imported (its
#: widgets, attachments, HTTP client): not before the paint, and not on the first Enter either.
READER_IMPORT_DELAY = 0.5
READER_MODULE = "inbox_app.screens.conversation"
#: Seconds between two looks at whether the agent has been idle long enough for a full
#: collection (``inbox_app.memory.IdleCollector``).
IDLE_CHECK_SECONDS = 1.0


class InboxApp(ListKeyActions, TypeAhead, App[int]):
    """Coccinelle Inbox.

    Args:
        service: the core facade; when None it is opened from ``settings`` at start.
        settings: the loaded configuration.
        clock: "now" for relative times (tests and screenshots pass a fixed one).
        live: listen to the core's events (new messages appear without a keypress).
        engine: start the core's background work (relay, outbox, reminders; the sandbox in demo
            mode) once the inbox is on screen. Tests drive the core themselves and leave it off.
        calm_memory: once the first page is on screen, freeze what start-up built out of the
            garbage collector's reach and raise its thresholds (``inbox_app.memory``); the
            launcher and the bench ask for it, tests leave the collector as it is.
    """

    CSS_PATH = "app.tcss"
    TITLE = "Coccinelle Inbox"
    COMMANDS = App.COMMANDS | {ActionsProvider}
    BINDINGS = [
        Binding("question_mark", "help", t("ui.key.help"), id="help", tooltip=t("ui.tip.help")),
        Binding(
            "ctrl+comma,f2",
            "settings",
            t("ui.key.settings"),
            id="settings",
            tooltip=t("ui.tip.settings"),
        ),
        Binding(
            "f3", "analytics", t("ui.key.analytics"), id="analytics", tooltip=t("ui.tip.analytics")
        ),
        Binding(
            "f4",
            "campaigns",
            t("campaignsui.key.campaigns"),
            id="campaigns",
            tooltip=t("campaignsui.key.campaigns_tip"),
        ),
        Binding(
            "f9",
            "parked_events",
            t("events.key"),
            id="parked_events",
            tooltip=t("events.key_tip"),
            show=False,
        ),
        *LIST_BINDINGS,
    ]
    #: How often the app looks for provider events the core could not apply.
    PARKED_CHECK_SECONDS = 30.0

    #: False while the live link to the shared database is lost (team mode): screens show it.
    link_online: reactive[bool] = reactive(True)

    def __init__(
        self,
        service: InboxService | None = None,
        settings: Settings | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        live: bool = True,
        engine: bool = False,
        calm_memory: bool = False,
    ) -> None:
        untie_strips()  # painted lines freed when dropped, not left to the collector
        super().__init__()
        self.service: InboxService = service  # type: ignore[assignment]  # set in on_mount
        self.settings = settings or (service.settings if service else None) or Settings()
        self._clock = clock
        self._live = live
        self._tenant_tz: str | None = None
        self._settings_generation = 0
        self._settings_watched = False
        self._owns_service = service is None
        self._wants_engine = engine
        self._calm_memory = calm_memory
        #: Runs the full collections while no key is pressed, once the collector is settled.
        self._idle_collector: IdleCollector | None = None
        self.engine: Engine | None = None
        #: The agent's own keys by binding id, once checked (``[keymap]`` in config.toml).
        self.keymap: dict[str, str] = {}
        self.viewing_id: int | None = None
        self._parked_seen = 0
        self._reader: ConversationScreen | None = None
        #: Threads read while the inbox was idle, for the conversations Enter or ``n`` opens.
        self.threads_ahead = ThreadsAhead()
        self._threads_reading: list[int] | None = None
        #: Set once the inbox has painted its first page.
        self.first_paint = asyncio.Event()
        #: Called at the first paint, before what starts after it (the bench stamps the time).
        self.when_painted: list[Callable[[], None]] = []
        #: Set once ``service`` is open (or could not be opened: the app is exiting then).
        self.service_ready = asyncio.Event()
        #: The first screen read without the service (``core.storage.inbox_list``), until shown.
        self._first_screen: FirstScreen | None = None
        self._first_page_taken = False
        self._background_started = False

    def now(self) -> datetime:
        """The app's "now"."""
        if self._clock:
            return self._clock()
        return self.service.ctx.now() if self.service is not None else datetime.now(UTC)

    @property
    def _background_screens(self) -> list[Screen[object]]:
        # Textual counts the screen under the top one as visible even when the top one is
        # opaque: it then lays that screen out and forwards each of its changes as a repaint of
        # the top screen (opening a thread painted the conversation screen twice: the inbox's
        # whole region was marked dirty by the push). Under an opaque screen nothing shows.
        stack = self._screen_stack
        if stack and stack[-1].styles.background.a == 1:
            return []
        return super()._background_screens

    async def on_mount(self) -> None:
        try:
            self.keymap = check_keymap(self.settings.keymap)
            self.set_keymap(self.keymap)
        except KeymapError as exc:
            self.exit(return_code=2, message=t("cli.error", message=str(exc)))
            return
        from inbox_app.screens.inbox import PAGE_SIZE, InboxScreen

        if self.service is None:
            self._first_screen = self._read_first_screen(PAGE_SIZE)
            if self._first_screen is None and not await self._open_service():
                return
        if self.service is None:
            # The first page was read without the service: it opens once that page is painted
            # (``first_page_shown``); keys wait for it (``on_event``).
            await self.push_screen(InboxScreen())
            return
        self._service_opened()
        await self.push_screen(InboxScreen())
        await self._after_service()
        # The engine and the parked-events check start once the first page is on screen
        # (``first_page_shown``): started here, they would run while the inbox reads and paints.

    def _read_first_screen(self, page_size: int) -> FirstScreen | None:
        """The inbox's first screen read through ``sqlite3``, without SQLAlchemy, its mapping
        and the service (most of what a start imported); None when the service has to read it:
        another database than a local SQLite file, an agent to check, a schema to migrate."""
        settings = self.settings
        if settings.agent or settings.mode not in ("local", "demo"):
            return None
        from core.storage.inbox_list import read_first_screen

        return read_first_screen(
            settings.effective_database_url,
            settings.tenant,
            page_size,
            demo=settings.mode == "demo",
        )

    async def _open_service(self) -> bool:
        """Open the service from the settings; False (and the app exits) when it cannot be."""
        try:
            from core.engine import open_service

            # the file read in place: a search's page reads hop between many pages
            self.service = await open_service(self.settings, mapped=True)
        except CoccinelleError as exc:
            self.service_ready.set()  # nothing waits for it any more: the app exits
            self.exit(return_code=2, message=t("cli.error", message=str(exc)))
            return False
        return True

    def _service_opened(self) -> None:
        if self._clock is not None:
            self.service.ctx.clock = self._clock
        self.service_ready.set()

    async def _after_service(self) -> None:
        """What needs the service once the inbox is shown: the core's events, who the agent is."""
        if self._live:
            self.listen()
        await choose_agent_at_start(self, self._reload_screens)

    @work(exclusive=True, group="service")
    async def _open_service_after_paint(self) -> None:
        """Open the service once the first page (read without it) is painted. The collector is
        held meanwhile, and what it imported and built is frozen with start-up's objects."""
        from inbox_app.memory import freeze_long_lived, hold_collector, release_collector

        was_running = hold_collector()
        try:
            opened = await self._open_service()
        finally:
            release_collector(was_running)
        if not opened:
            return
        if self._idle_collector is not None:
            freeze_long_lived()
        self._first_screen = None
        self._service_opened()
        await self._after_service()
        self._start_background()

    async def until_service(self) -> None:
        """Until the service is open (or could not be: the app is exiting)."""
        await self.service_ready.wait()

    def take_first_page(
        self, wanted: InboxFilter, after: str | None, size: int
    ) -> Page[ConversationSummary] | None:
        """The first page read at start, if that is what is ``wanted`` and the service is not
        open yet (once); else None."""
        first = self._first_screen
        if first is None or self.service is not None or first.page_size != size:
            return None
        if self._first_page_taken or after is not None or not wanted.is_first_screen():
            return None
        self._first_page_taken = True
        return first.page

    def first_counts(self) -> dict[str, tuple[int, int]] | None:
        """The counts read at start, while the service is not open yet."""
        first = self._first_screen
        return first.counts if first is not None and self.service is None else None

    @work(exclusive=True, group="parked")
    async def check_parked_events(self) -> None:
        """One notice when provider events are parked: how many, why, and how to retry."""
        events = self.service.inbound_events
        count = await events.count_parked()
        if count and count != self._parked_seen:
            [first] = await events.parked(limit=1)
            text = " ".join(
                (
                    t("events.notice", count=count),
                    t("events.notice_why", error=first.error),
                    t("events.notice_open"),
                )
            )
            self.notify(one_line(text, 400), severity="warning", timeout=30, markup=False)
        self._parked_seen = count

    def action_parked_events(self) -> None:
        """Show the parked provider events, with a Retry button."""
        from inbox_app.screens.parked_events import ParkedEventsScreen

        self.push_screen(ParkedEventsScreen())

    def note_activity(self) -> None:
        """The app is showing what the agent asked for (more of the list): not idle, as after
        a key."""
        if self._idle_collector is not None:
            self._idle_collector.touched()

    async def on_event(self, event: events.Event) -> None:
        """Every event reaches the app first: a key or a click tells the idle collector the
        agent is there. A key or a click that comes before the service is open (the first page
        was read without it) waits for it, and those after it wait in turn."""
        if isinstance(event, (events.Key, events.MouseDown)):
            if self._idle_collector is not None:
                self._idle_collector.touched()
            if not self.service_ready.is_set():
                await self.service_ready.wait()
        await super().on_event(event)

    def first_page_shown(self) -> None:
        """The inbox painted its first page: settle the collector if asked to, then start what
        runs in the background (the engine, the parked-events check) and, a moment later, load
        the conversation screen's module. Once."""
        if self.first_paint.is_set():
            return
        self.first_paint.set()
        for painted in self.when_painted:
            painted()
        if self._calm_memory:
            from inbox_app.memory import IdleCollector, settle_collector

            self._calm_memory = False
            settle_collector()
            self._idle_collector = IdleCollector()
            self.set_interval(IDLE_CHECK_SECONDS, self._idle_collector.collect_if_idle)
        self.set_timer(READER_IMPORT_DELAY, self._import_reader)
        if self.service is None:
            self._open_service_after_paint()  # which then starts the background work
        else:
            self._start_background()

    def _start_background(self) -> None:
        """The engine and the parked-events check, once the first page is painted and the
        service is open. Once."""
        if self._background_started:
            return
        self._background_started = True
        if self._wants_engine:
            self.start_engine()
        self.check_parked_events()
        self.set_interval(self.PARKED_CHECK_SECONDS, self.check_parked_events)

    def _import_reader(self) -> None:
        """Import the conversation screen's module (its widgets, attachments, HTTP client):
        with a settled collector, what it made lives as long as the app and is frozen too, so
        no full collection walks it again."""
        importlib.import_module(READER_MODULE)
        if self._idle_collector is not None:
            from inbox_app.memory import freeze_long_lived

            freeze_long_lived()

    @work(exclusive=True, group="engine")
    async def start_engine(self) -> None:
        """Start the background work after the first paint (provider SDKs load lazily)."""
        from core.engine import Engine

        engine = Engine(self.service, self.settings)
        try:
            status = await engine.start()
        except Exception as exc:
            notify_error(self, exc)
            await engine.stop()
            return
        self.engine = engine
        for notice in status.notices:
            self.notify(notice, severity="warning", timeout=15, markup=False)

    @work(exclusive=True, group="live")
    async def listen(self) -> None:
        """Forward every core event to the open screens."""
        async with self.service.bus.subscribe() as queue:
            self._settings_watched = True
            try:
                await self._forward(queue)
            finally:
                self._settings_watched = False
                self._forget_settings()

    async def _forward(self, queue: asyncio.Queue[Event]) -> None:
        while True:
            event = await queue.get()
            self.threads_ahead.changed(event)
            if isinstance(event, SettingsChanged | Resync | ConnectionState):
                self._forget_settings()
            if isinstance(event, ConnectionState):
                self._link_changed(event.online)
            if isinstance(event, Alert):
                self.notify(one_line(event.message, 300), severity="warning", markup=False)
            for screen in list(self.screen_stack):
                handler = getattr(screen, "core_event", None)
                if handler is not None:
                    try:
                        await handler(event)
                    except Exception as exc:  # a refresh must never take the app down
                        notify_error(self, exc)

    def read_threads_ahead(self, conversation_ids: list[int]) -> None:
        """Read the threads of ``conversation_ids`` (the inbox's highlighted and next unread
        conversations) while the app is idle: opening one then shows it without a read. Only
        once the inbox is painted and while the app listens to the core's events (a change
        seen drops what was read); not again for threads already read."""
        if not (self.first_paint.is_set() and self._settings_watched):
            return
        self.threads_ahead.only(conversation_ids)
        # not the one on screen: it was just read (the inbox's cursor follows ``n``)
        shown = self.viewing_id
        wanted = [i for i in conversation_ids if i != shown and not self._ready_ahead(i)]
        if wanted and wanted != self._threads_reading:
            self._threads_reading = wanted
            self._read_threads_ahead(wanted)

    @work(exclusive=True, group="threads-ahead")
    async def _read_threads_ahead(self, conversation_ids: list[int]) -> None:
        try:
            # after the frame of the key that moved the cursor; a next move within it cancels
            await asyncio.sleep(THREADS_AHEAD_DELAY)
            generation = self.threads_ahead.generation
            for conversation_id in conversation_ids:
                thread = self.threads_ahead.peek(conversation_id, FIRST_PAGE)
                if thread is None:
                    try:
                        thread = await self.service.conversations.thread(
                            conversation_id, FIRST_PAGE
                        )
                    except Exception:  # opened, it is read again and what failed is said then
                        return
                    self.threads_ahead.keep(conversation_id, FIRST_PAGE, generation, thread)
                    if not self.threads_ahead.has(conversation_id):
                        continue
                await self._draw_ahead(thread)
        finally:
            if self._threads_reading == conversation_ids:
                self._threads_reading = None

    def _ready_ahead(self, conversation_id: int) -> bool:
        """Whether the thread of ``conversation_id`` is read ahead, and drawn ahead on the kept
        conversation screen if there is one (a thread read before it was made is drawn)."""
        thread = self.threads_ahead.peek(conversation_id, FIRST_PAGE)
        reader = self._reader
        if thread is None or reader is None or not reader.is_running:
            return thread is not None
        return reader.drawn_ahead(thread)

    async def _draw_ahead(self, thread: Thread) -> None:
        """Have the kept conversation screen draw ``thread`` (read ahead) before it is opened
        (there, or from the inbox; shown, the screen keeps showing its own thread)."""
        reader = self._reader
        if reader is None or not reader.is_running:
            return
        try:
            await reader.draw_ahead(thread)
        except Exception:  # opened, it is drawn then (and what failed is said then)
            return

    def _forget_settings(self) -> None:
        self._tenant_tz = None
        self._settings_generation += 1

    async def tenant_timezone(self) -> str:
        """The tenant's time zone. Kept only while the app listens to the core's events (a
        ``SettingsChanged``, a ``Resync`` or a lost link forgets it), else read each time."""
        if self._tenant_tz is not None:
            return self._tenant_tz
        if self.service is None and self._first_screen is not None:
            return self._first_screen.timezone
        generation = self._settings_generation
        zone = await self.service.tenant_settings.timezone()
        if self._settings_watched and generation == self._settings_generation:
            self._tenant_tz = zone  # nothing changed the settings while they were read
        return zone

    def _link_changed(self, online: bool) -> None:
        if online and not self.link_online:
            self.notify(t("teamui.link.back"), timeout=4, markup=False)
        self.link_online = online

    async def _reload_screens(self) -> None:
        for screen in list(self.screen_stack):
            reload = getattr(screen, "reload", None)
            if reload is not None:
                await reload()

    def viewing(self, conversation_id: int | None) -> None:
        """Tell the other agents which conversation is open here (None: none)."""
        self.viewing_id = conversation_id
        self._announce_viewing()

    @work(exclusive=True, group="presence")
    async def _announce_viewing(self) -> None:
        # Reads the latest wish when it runs, so quick switches end on the right conversation.
        try:
            await self.service.team.presence.viewing(self.viewing_id)
        except Exception as exc:  # presence is a courtesy: never block the screen for it
            notify_error(self, exc)

    async def open_conversation(self, conversation_id: int, *, reply: bool = False) -> None:
        """Show one conversation on the conversation screen.

        The screen is built once and kept (installed): opening the next conversation reads it
        into the kept screen, then shows the screen, so no screen is composed, laid out and
        styled anew for each thread.
        """
        from inbox_app.screens.conversation import ConversationScreen

        reader = self._reader
        if reader is None or not reader.is_running:
            reader = self._reader = ConversationScreen(conversation_id, reply=reply)
            self.install_screen(reader, name="conversation")
            await self.push_screen(reader)
            return
        if reader in self.screen_stack:  # already open (under a dialog, say): show it there
            await reader.show_conversation(conversation_id)
        elif await reader.show_conversation(conversation_id):
            await self.push_screen(reader)
            if reply:
                reader.action_reply()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The list keys act only when a list has the focus (elsewhere the key goes on)."""
        if action in LIST_ACTIONS:
            return focused_list(self.focused) is not None
        return True

    def action_help(self) -> None:
        from inbox_app.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_settings(self) -> None:
        from inbox_app.screens.settings import SettingsScreen

        if not isinstance(self.screen, SettingsScreen):
            self.push_screen(SettingsScreen())

    def action_analytics(self) -> None:
        from inbox_app.screens.analytics import AnalyticsScreen

        if not isinstance(self.screen, AnalyticsScreen):
            self.push_screen(AnalyticsScreen())

    def action_campaigns(self) -> None:
        from inbox_app.screens.campaigns import CampaignsScreen

        if not isinstance(self.screen, CampaignsScreen):
            self.push_screen(CampaignsScreen())

    async def action_quit(self) -> None:
        """Quit once the workers still reading the database have finished (a bounded wait)."""
        await self.settle_workers()
        self.exit()

    async def settle_workers(self, timeout: float | None = None) -> None:
        """Wait until the running workers end by themselves, for at most ``timeout`` seconds
        (``WORKERS_EXIT_SECONDS`` by default).

        Quitting waits for this first: a worker cancelled in the middle of a query leaves
        SQLAlchemy closing its aiosqlite connection in a task that never ends (aiosqlite's
        ``close()`` after ``stop()`` waits for a thread that has already gone), and the process
        hangs on exit.
        """

        async def ended(worker: Worker[object]) -> None:
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await worker.wait()

        running = [w for w in self.workers if not w.is_finished and w.group not in FOREVER]
        if running:
            await asyncio.wait(
                [asyncio.ensure_future(ended(w)) for w in running],
                timeout=WORKERS_EXIT_SECONDS if timeout is None else timeout,
            )

    async def on_unmount(self) -> None:
        if self.engine is not None:
            await self.engine.stop()
        if self._owns_service and self.service is not None:
            await self.service.close()
