"""One conversation: the prospect's timeline, their panel, and every triage action."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Static

from core.domain.enums import Channel, ConversationStatus, MessageKind, MessageStatus, Priority
from core.domain.models import Appointment, Thread
from core.events import (
    ConversationChanged,
    Event,
    MessageChanged,
    PresenceChanged,
    ProspectChanged,
    Resync,
)
from core.i18n import t, zone_name
from core.service.conversations import THREAD_LIMIT
from inbox_app.errors import notify_error
from inbox_app.render.safe import inert, one_line
from inbox_app.render.words import channel_name, priority_name, when
from inbox_app.screens.appointment_actions import APPOINTMENT_BINDINGS, AppointmentActions, Target
from inbox_app.screens.appointment_actions import key as appointment_key
from inbox_app.screens.attachment_actions import ATTACHMENT_BINDINGS, AttachmentActions
from inbox_app.screens.automation_actions import AUTOMATION_BINDING, AutomationActions
from inbox_app.screens.choice import ChoiceScreen
from inbox_app.screens.kept import KeptLines, resume_styled
from inbox_app.screens.prompt import PromptScreen
from inbox_app.team import pick_assignee, take
from inbox_app.thread_window import FIRST_PAGE, MORE
from inbox_app.widgets.conversation.prospect_panel import ProspectPanel
from inbox_app.widgets.conversation.timeline import PROBLEM_STATUSES, Timeline
from inbox_app.widgets.footer import Footer
from inbox_app.widgets.team.link_status import LinkStatus
from inbox_app.widgets.team.presence_line import PresenceLine

WIDE = 100  # below this width the prospect panel starts hidden


def _b(key: str, action: str, name: str, show: bool = True) -> Binding:
    return Binding(
        key, action, t(f"ui.key.{name}"), show=show, id=name, tooltip=t(f"ui.tip.{name}")
    )


class ConversationScreen(
    KeptLines, AppointmentActions, AutomationActions, AttachmentActions, Screen[None]
):
    """The thread of one conversation, across all of the prospect's channels."""

    CSS_PATH = "conversation.tcss"
    #: Messages read when a thread opens.
    FIRST_PAGE = FIRST_PAGE
    BINDINGS = [
        _b("r", "reply", "reply"),
        _b("i", "note", "note"),
        appointment_key("b", "book", "book", show=True),
        _b("w", "switch", "switch"),
        _b("x", "close", "close"),
        _b("z", "snooze", "snooze"),
        _b("p", "priority", "priority"),
        _b("l", "labels", "labels"),
        _b("a", "assign", "assign"),
        Binding(
            "A",
            "take",
            t("teamui.key.take"),
            show=False,
            id="take",
            tooltip=t("teamui.tip.take"),
        ),
        _b("m", "merge", "merge", show=False),
        _b("R", "resend", "resend", show=False),
        _b("S", "send_now", "send_now", show=False),
        _b("C", "call", "call", show=False),
        _b("t", "toggle_panel", "panel", show=False),
        _b("n", "next_unread", "next", show=False),
        *APPOINTMENT_BINDINGS,
        AUTOMATION_BINDING,
        *ATTACHMENT_BINDINGS,
        _b("q,escape", "back", "back"),
    ]

    def __init__(self, conversation_id: int, *, reply: bool = False) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.thread: Thread | None = None
        self.appointments: list[Appointment] = []
        self._reply_on_open = reply
        self._title: Text | None = None
        #: How many of the thread's newest messages are read (more as the reader goes up).
        self._limit = self.FIRST_PAGE
        #: Conversations this screen marked read whose change has not come back as an event.
        self._own_reads: Counter[int] = Counter()

    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield LinkStatus()
        yield PresenceLine()
        with Horizontal(id="body"):
            yield Timeline(id="timeline")
            yield ProspectPanel(id="prospect")
        yield Footer()

    async def on_mount(self) -> None:
        self.query_one(ProspectPanel).display = self.app.size.width >= WIDE
        timeline = self.query_one(Timeline)
        timeline.fetch_older = self._read_older
        timeline.focus()
        self.app.viewing(self.conversation_id)
        await self.reload()
        if self.thread is not None:
            await self._mark_read()
        if self._reply_on_open and self.thread is not None:
            self.action_reply()

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Textual restyles a pushed screen's every widget. The app keeps this screen for the
        # next thread: when neither the theme nor the app's CSS changed, its styles are current.
        resume_styled(self, event)

    def on_screen_suspend(self) -> None:
        # Events no longer reach a screen off the stack: one owed to a marking could then never
        # be taken, and a later change would be. Forgotten, it costs at most one more read.
        self._own_reads.clear()

    def on_unmount(self) -> None:
        # a switch to another conversation may already have announced the new one
        if self.app.viewing_id == self.conversation_id:
            self.app.viewing(None)

    @property
    def tz(self) -> str:
        """The prospect's time zone, else the tenant's."""
        if self.thread and self.thread.prospect.timezone:
            return self.thread.prospect.timezone
        return getattr(self, "_tenant_tz", "Europe/Paris")

    async def reload(self) -> None:
        """Read the thread again and redraw it."""
        service = self.app.service
        wanted = self.conversation_id
        try:
            thread = self.app.threads_ahead.take(wanted, self._limit)
            if thread is None:
                thread = await service.conversations.thread(wanted, self._limit)
            self._tenant_tz = await self.app.tenant_timezone()
        except Exception as exc:
            notify_error(self.app, exc)
            if self.thread is None:
                self.app.pop_screen()
            return
        if wanted != self.conversation_id:
            return  # another conversation was opened while reading (a switch): it draws itself
        self.thread = thread
        self.appointments = appointments = list(thread.appointments)
        self._show_title()
        self._show_presence()
        # in place: the reader's scroll, cursor and the panel stay unless what they show changed
        await self.query_one(Timeline).update(self.thread, self.tz)
        self.query_one(ProspectPanel).show(self.thread.prospect, appointments, self.tz)

    async def draw_ahead(self, thread: Thread) -> None:
        """Draw ``thread`` (read ahead, not shown yet) on this kept screen's timeline and
        prospect panel while the app is idle: opening it here then only lays out what was
        drawn."""
        tz = thread.prospect.timezone or await self.app.tenant_timezone()
        self.query_one(Timeline).draw_ahead(thread, tz)
        self.query_one(ProspectPanel).draw_ahead(thread.prospect, list(thread.appointments), tz)

    def drawn_ahead(self, thread: Thread) -> bool:
        """Whether ``thread`` (this very read) is drawn ahead on the timeline."""
        return self.query_one(Timeline).drawn_ahead(thread)

    async def _read_older(self) -> None:
        """Read further back in the thread (the timeline puts the older messages above)."""
        if self.thread is None or self.thread.complete or self._limit >= THREAD_LIMIT:
            return
        self._limit = min(THREAD_LIMIT, self._limit + MORE)
        await self.reload()

    def _show_title(self) -> None:
        assert self.thread is not None
        c = self.thread.conversation
        text = inert(c.prospect_name, "bold", single_line=True)
        parts = [channel_name(c.channel), t(f"common.status.{c.status}"), priority_name(c.priority)]
        if c.snoozed_until:
            parts.append(t("ui.thread.snoozed_until", when=when(c.snoozed_until, self.tz)))
        text.append(" — " + " · ".join(parts))
        if c.labels:
            text.append(" · ")
            text.append_text(inert(", ".join(c.labels), single_line=True))
        text.append(" · ")
        text.append_text(inert(c.assignee_name or t("ui.thread.unassigned"), single_line=True))
        # Every time on this screen is in this zone: say which, once.
        text.append(" · " + t("ui.thread.times_in", zone=zone_name(self.tz)), style="dim")
        text.no_wrap, text.overflow = True, "ellipsis"
        if text != self._title:  # a live update that leaves the title as it was repaints nothing
            self._title = text
            self.query_one("#title", Static).update(text, layout=False)  # one line, always

    def _show_presence(self) -> None:
        others = self.app.service.team.presence.others_in(self.conversation_id)
        self.query_one(PresenceLine).show(others)

    async def _mark_read(self) -> None:
        """Mark the conversation shown read. Its change comes back as one event that this
        screen does not read the thread again for: the count it zeroes is not on screen."""
        if not (self.thread and self.thread.conversation.unread_count):
            return
        conversation_id = self.conversation_id
        self._own_reads[conversation_id] += 1  # before the write: its event may come first
        try:
            await self.app.service.conversations.mark_read(conversation_id)
        except Exception as exc:
            self._own_reads[conversation_id] -= 1
            notify_error(self.app, exc)
            return
        shown = self.thread
        if shown is not None and shown.conversation.id == conversation_id:
            read = shown.conversation.model_copy(update={"unread_count": 0})
            self.thread = shown.model_copy(update={"conversation": read})

    def _own_read(self, event: Event) -> bool:
        """Whether ``event`` is the change of this screen's own marking read (and forget it).

        Exactly one event per marking is taken: if another change of the conversation came in
        between, the marking's own event is the one that reads the thread again, after both.
        """
        if isinstance(event, Resync):  # events were lost: whether the marking's came is unknown
            self._own_reads.clear()
        if type(event) is not ConversationChanged or not self._own_reads[event.conversation_id]:
            return False
        self._own_reads[event.conversation_id] -= 1
        return True

    async def core_event(self, event: Event) -> None:
        """Redraw when something of this prospect changed."""
        if self.thread is None or self._own_read(event):
            return
        if isinstance(event, PresenceChanged):
            if event.conversation_id == self.conversation_id:
                self._show_presence()
            return
        mine = {self.conversation_id, *(c.id for c in self.thread.related)}
        if (
            isinstance(event, Resync)
            or (
                isinstance(event, ConversationChanged | MessageChanged)
                and event.conversation_id in mine
            )
            or (isinstance(event, ProspectChanged) and event.prospect_id == self.thread.prospect.id)
        ):
            try:
                await self.reload()
            except NoMatches:  # the screen closed (or is still being built) while reading
                return

    # -- navigation --------------------------------------------------------------------------

    def action_back(self) -> None:
        # the app keeps this screen for the next conversation: nobody is viewing this one now
        if self.app.viewing_id == self.conversation_id:
            self.app.viewing(None)
        self.app.pop_screen()

    def action_toggle_panel(self) -> None:
        panel = self.query_one(ProspectPanel)
        panel.display = not panel.display

    @on(Timeline.LinkOpened)
    async def _link(self, event: Timeline.LinkOpened) -> None:
        if event.conversation_id != self.conversation_id:
            await self.show_conversation(event.conversation_id)

    @property
    def ready(self) -> bool:
        """Whether the thread of ``conversation_id`` is the one shown."""
        return self.thread is not None and self.thread.conversation.id == self.conversation_id

    async def show_conversation(self, conversation_id: int) -> bool:
        """Show another conversation on this same screen (no new screen to build); False, with
        a notice, when it cannot be read (the one shown stays)."""
        self._own_reads.clear()
        previous, self.conversation_id = self.conversation_id, conversation_id
        limit, self._limit = self._limit, self.FIRST_PAGE
        self.app.viewing(conversation_id)
        await self.reload()
        if not self.ready:
            self.conversation_id, self._limit = previous, limit
            self.app.viewing(previous)
            return False
        timeline = self.query_one(Timeline)
        timeline.index = len(timeline) - 1 if len(timeline) else None
        if self.focused is not timeline:  # ``focus()`` repaints it all, focused already or not
            timeline.focus()
        # a write: after the thread is on screen, not between the key and the paint
        self.call_after_refresh(self.run_worker, self._mark_read, group="mark-read")
        return True

    async def action_next_unread(self) -> None:
        from inbox_app.screens.inbox import InboxScreen

        inbox = next((s for s in self.app.screen_stack if isinstance(s, InboxScreen)), None)
        target = inbox.next_unread(self.conversation_id) if inbox else None
        if target is None:
            self.notify(t("ui.inbox.no_unread"), timeout=3)
            return
        await self.show_conversation(target)

    # -- actions -------------------------------------------------------------------------------

    async def _do(self, done: str, call) -> bool:
        try:
            await call
        except Exception as exc:
            notify_error(self.app, exc)
            return False
        self.notify(done, timeout=3, markup=False)
        await self.reload()
        return True

    def action_reply(self) -> None:
        from inbox_app.screens.composer import ComposerScreen

        if self.thread is not None:
            self.app.push_screen(ComposerScreen(self.thread))

    def action_note(self) -> None:
        async def save(text: str | None) -> None:
            if text:
                await self._do(
                    t("ui.done.note"),
                    self.app.service.messages.add_note(self.conversation_id, text),
                )

        self.app.push_screen(
            PromptScreen(t("ui.ask.note"), placeholder=t("ui.ask.note_placeholder")), save
        )

    async def action_close(self) -> None:
        if self.thread is None:
            return
        closed = self.thread.conversation.status == ConversationStatus.CLOSED
        status = ConversationStatus.OPEN if closed else ConversationStatus.CLOSED
        done = t("ui.done.reopened") if closed else t("ui.done.closed")
        await self._do(
            done, self.app.service.conversations.set_status(self.conversation_id, status)
        )

    def action_snooze(self) -> None:
        choices = [(k, t(f"ui.snooze.{k}")) for k in ("reply", "tomorrow", "next_week", "date")]

        async def dated(moment: datetime | None) -> None:
            if moment is not None:
                await self._snooze_until(moment)

        async def picked(key: str | None) -> None:
            if key == "date":
                self.app.push_screen(
                    PromptScreen(
                        t("ui.snooze.ask_date"),
                        placeholder="2026-03-12 09:00",
                        parse=self._parse_moment,
                    ),
                    dated,
                )
            elif key is not None:
                await self._snooze_until(self._snooze_moment(key))

        self.app.push_screen(ChoiceScreen(t("ui.snooze.title"), choices), picked)

    def _snooze_moment(self, key: str) -> datetime | None:
        local = self.app.now().astimezone(ZoneInfo(self.tz))
        if key == "tomorrow":
            return datetime.combine(local.date() + timedelta(days=1), time(9), local.tzinfo)
        if key == "next_week":
            monday = local.date() + timedelta(days=7 - local.weekday())
            return datetime.combine(monday, time(9), local.tzinfo)
        return None

    def _parse_moment(self, raw: str) -> datetime:
        try:
            moment = datetime.strptime(raw.strip(), "%Y-%m-%d %H:%M")
        except ValueError:
            raise ValueError(t("ui.snooze.bad_date", value=one_line(raw, 30))) from None
        return moment.replace(tzinfo=ZoneInfo(self.tz))

    async def _snooze_until(self, until: datetime | None) -> None:
        await self._do(
            t("ui.done.snoozed"), self.app.service.conversations.snooze(self.conversation_id, until)
        )

    def action_priority(self) -> None:
        async def picked(key: str | None) -> None:
            current = self.thread.conversation.priority.value if self.thread else None
            if key and key != current:
                await self._do(
                    t("ui.done.priority"),
                    self.app.service.conversations.set_priority(
                        self.conversation_id, Priority(key)
                    ),
                )

        self.app.push_screen(
            ChoiceScreen(
                t("ui.ask.priority"),
                [(p.value, priority_name(p)) for p in Priority],
                selected=self.thread.conversation.priority.value if self.thread else None,
            ),
            picked,
        )

    def action_labels(self) -> None:
        current = ", ".join(self.thread.conversation.labels) if self.thread else ""

        async def save(labels: list[str] | None) -> None:
            if labels is not None:
                await self._do(
                    t("ui.done.labels"),
                    self.app.service.conversations.set_labels(self.conversation_id, labels),
                )

        parse = lambda raw: [x.strip() for x in raw.split(",") if x.strip()]  # noqa: E731
        self.app.push_screen(
            PromptScreen(t("ui.ask.labels"), current, t("ui.ask.labels_placeholder"), parse), save
        )

    async def action_assign(self) -> None:
        await pick_assignee(self.app, self.conversation_id, self.reload)

    async def action_take(self) -> None:
        if await take(self.app, self.conversation_id):
            await self.reload()

    def action_merge(self) -> None:
        async def merge(other: int | None) -> None:
            if other is not None and self.thread is not None:
                await self._do(
                    t("ui.done.merged"),
                    self.app.service.prospects.merge(self.thread.prospect.id, other),
                )

        def parse(raw: str) -> int:
            if not raw.strip().isdigit():
                raise ValueError(t("ui.ask.merge_bad", value=one_line(raw, 30)))
            return int(raw.strip())

        self.app.push_screen(PromptScreen(t("ui.ask.merge"), parse=parse), merge)

    def action_switch(self) -> None:
        from inbox_app.screens.switch_channel import SwitchChannelScreen

        if self.thread is None:
            return

        async def switched(conversation_id: int | None) -> None:
            if conversation_id is not None:
                await self.show_conversation(conversation_id)

        self.app.push_screen(SwitchChannelScreen(self.thread), switched)

    async def action_resend(self) -> None:
        outbound = getattr(self.app.service, "outbound", None)
        message = self.query_one(Timeline).selected_message()
        if (
            message is None
            or message.status not in PROBLEM_STATUSES
            or message.kind != MessageKind.MESSAGE
        ):
            self.notify(t("ui.thread.resend_what"), severity="warning", timeout=4)
        elif outbound is None:
            self.notify(t("ui.composer.no_outbound"), severity="warning", timeout=6)
        else:
            await self._do(t("ui.done.resent"), outbound.resend(message.id))

    def action_send_now(self) -> None:
        """Send a message held by quiet hours now, with a reason (audited)."""
        outbound = getattr(self.app.service, "outbound", None)
        message = self.query_one(Timeline).selected_message()
        if message is None or message.status != MessageStatus.HELD:
            self.notify(t("ui.thread.send_now_what"), severity="warning", timeout=4)
            return
        if outbound is None:
            self.notify(t("ui.composer.no_outbound"), severity="warning", timeout=6)
            return

        async def send(reason: str | None) -> None:
            if reason:
                await self._do(t("ui.done.sent_now"), outbound.send_now(message.id, reason))

        def reason(raw: str) -> str:
            if not raw.strip():
                raise ValueError(t("ui.ask.send_now_empty"))
            return raw.strip()

        prompt = PromptScreen(
            t("ui.ask.send_now"), placeholder=t("ui.ask.send_now_placeholder"), parse=reason
        )
        self.app.push_screen(prompt, send)

    async def action_call(self) -> None:
        """Place a call to the prospect, once the agent has confirmed (it rings at once)."""
        outbound = getattr(self.app.service, "outbound", None)
        if outbound is None:
            self.notify(t("ui.composer.no_outbound"), severity="warning", timeout=6)
            return
        if self.thread is None:
            return
        prospect = self.thread.prospect

        async def answered(choice: str | None) -> None:
            if choice == "yes":
                await self._do(t("ui.done.calling"), outbound.call(prospect.id))

        question = t(
            "ui.ask.call",
            name=one_line(prospect.display_name, 60),
            phone=prospect.identifier(Channel.VOICE) or prospect.phone or "—",
        )
        choices = [("yes", t("ui.ask.call_yes")), ("no", t("ui.ask.call_no"))]
        self.app.push_screen(ChoiceScreen(question, choices, selected="no"), answered)

    # -- appointments (keys in appointment_actions) -----------------------------------------

    def action_book(self) -> None:
        if self.thread is not None:
            self.open_booking(self.thread.prospect, self.conversation_id)

    async def appointment_target(self) -> Target | None:
        if self.thread is None:
            return None
        message = self.query_one(Timeline).selected_message()
        highlighted = message.metadata.get("appointment_id") if message else None
        return Target(self.thread.prospect, self.conversation_id, self.appointments, highlighted)

    async def appointment_changed(self) -> None:
        await self.reload()
