"""The reply composer: channel (Auto first, with the orchestrator's decision), templates,
send later, live counter and cost, quiet-hours and WhatsApp-window warnings, attachments.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Checkbox, Input, Select, Static, TextArea

from core.domain.decision import Decision, ReplyDraft
from core.domain.enums import Channel
from core.domain.models import Message, Thread
from core.domain.tenant_settings import TenantSettings
from core.i18n import t
from inbox_app.errors import notify_error
from inbox_app.render.safe import inert, one_line
from inbox_app.render.words import channel_name
from inbox_app.screens.choice import ChoiceScreen
from inbox_app.widgets.composer.counter import Counter
from inbox_app.widgets.composer.decision_panel import DecisionPanel, warnings_text
from inbox_app.widgets.composer.hints import local_warnings
from inbox_app.widgets.composer.variables import fill, known_values
from inbox_app.widgets.footer import Footer
from inbox_app.widgets.team.link_status import LinkStatus
from inbox_app.widgets.toggles import StateCheckbox

AUTO = "auto"
DECIDE_DELAY = 0.4  # seconds of quiet typing before asking the orchestrator again


def _b(key: str, action: str, name: str, show: bool = True) -> Binding:
    return Binding(
        key,
        action,
        t(f"ui.key.{name}"),
        show=show,
        id=name,
        tooltip=t(f"ui.tip.{name}"),
        priority=True,
    )


class ComposerScreen(Screen[None]):
    """Write and send a reply in the conversation of ``thread``."""

    CSS_PATH = "composer.tcss"
    #: The text gets the focus as the screen appears: not the form around it first (keys typed
    #: right behind ``r`` went to the form and were lost)
    AUTO_FOCUS = "#body"
    BINDINGS = [
        _b("ctrl+s", "send", "send"),
        _b("ctrl+t", "template", "template"),
        _b("ctrl+o", "alternative", "alternative"),
        _b("escape", "keep_draft", "keep_draft"),
        _b("ctrl+g", "discard_draft", "discard_draft"),
    ]

    def __init__(self, thread: Thread) -> None:
        super().__init__()
        self.thread = thread
        self.decision: Decision | None = None
        #: Auto's last ranking (its pick, then its alternatives): the walk ctrl+o follows
        self.ranking: list[Channel] = []
        self.settings = TenantSettings()
        self.values: dict[str, str] = {}
        self.appointments: list = []
        self.missing: list[str] = []
        self._timer: Timer | None = None
        self._template_id: int | None = None
        self.agent_name: str | None = None

    @property
    def outbound(self):
        """``service.outbound``, or None while sending is not available."""
        return getattr(self.app.service, "outbound", None)

    @property
    def tz(self) -> str:
        """The prospect's time zone, else the tenant's."""
        return self.thread.prospect.timezone or self.settings.timezone

    def compose(self) -> ComposeResult:
        prospect = self.thread.prospect
        title = inert(
            t("ui.composer.title", name=one_line(prospect.display_name, 60)),
            "bold",
            single_line=True,
        )
        yield Static(title, id="title")
        yield LinkStatus()
        options = [(t("ui.channel.auto"), AUTO)] + [
            (f"{channel_name(c)} — {one_line(prospect.identifier(c), 30)}", str(c))
            for c in prospect.reachable_channels()
        ]
        with VerticalScroll(id="form"):
            with Horizontal(classes="row"):
                yield Select(options, value=AUTO, allow_blank=False, id="channel")
                yield Input(placeholder=t("ui.composer.send_at"), id="send_at")
            yield Input(placeholder=t("ui.composer.subject"), id="subject")
            yield TextArea(id="body", soft_wrap=True, show_line_numbers=False)
            yield Counter(id="counter")
            yield Static(id="warnings")
            yield DecisionPanel(id="decision")
            with Horizontal(classes="row"):
                yield Input(placeholder=t("ui.composer.attach"), id="attach")
                yield StateCheckbox(t("ui.composer.location"), id="location")
        yield Footer()

    async def on_mount(self) -> None:
        service = self.app.service
        try:
            self.settings = await service.tenant_settings.get()
            appointments = await service.appointments.for_prospect(self.thread.prospect.id)
            self.agent_name = await self._agent_name()
            await self._restore_draft()
            await self._show_reply_subject()
        except Exception as exc:
            notify_error(self.app, exc)
            appointments = []
        self.appointments = appointments
        self.values = known_values(
            self.thread.prospect,
            self.settings,
            appointments,
            self.app.now(),
            agent_name=self.agent_name,
        )
        self._refresh()
        self._schedule_decision()

    async def _agent_name(self) -> str | None:
        """The name of the agent using the app (for ``{{agent_name}}``), if known."""
        me = self.app.service.ctx.agent_id
        if me is None:
            return None
        return next((a.name for a in await self.app.service.agents.list() if a.id == me), None)

    def _drafts(self) -> Any:
        """The drafts store, or None where there is no conversation to keep one for (a first
        message to a prospect)."""
        if self.thread.conversation is None:
            return None
        return getattr(self.app.service, "drafts", None)

    async def _restore_draft(self) -> None:
        """Put back what was written here before (another screen, an earlier run)."""
        drafts = self._drafts()
        draft = await drafts.get(self.thread.conversation.id) if drafts else None
        if draft is None:
            return
        body = self.query_one("#body", TextArea)
        if not body.text:
            body.text = draft.text
            body.move_cursor(body.document.end)
        if draft.subject and not self.query_one("#subject", Input).value:
            self.query_one("#subject", Input).value = draft.subject

    async def _show_reply_subject(self) -> None:
        """Say in the empty subject field what an e-mail answer will carry ("Re: …")."""
        drafts = self._drafts()
        if drafts is None or self.thread.prospect.email is None:
            return
        subject = await drafts.reply_subject(self.thread.prospect.id)
        if subject:
            field = self.query_one("#subject", Input)
            field.placeholder = t("ui.composer.reply_subject", subject=one_line(subject, 60))

    # -- what the agent chose ------------------------------------------------------------------

    def channel(self) -> Channel | None:
        """The picked channel (None: Auto)."""
        value = self.query_one("#channel", Select).value
        return None if value in (AUTO, Select.BLANK) else Channel(str(value))

    def effective_channel(self) -> Channel | None:
        """The picked channel, else the one Auto decided."""
        return self.channel() or (self.decision.channel if self.decision else None)

    def draft(self) -> ReplyDraft:
        """The reply as written."""
        attach = self.query_one("#attach", Input).value.strip()
        return ReplyDraft(
            text=self.query_one("#body", TextArea).text,
            subject=self.query_one("#subject", Input).value.strip() or None,
            attachments=(Path(attach).expanduser(),) if attach else (),
            share_location=self.query_one("#location", Checkbox).value,
            template_id=self._template_id,
            variables={k: v for k, v in self.values.items()},
        )

    def send_at(self) -> datetime | None:
        """The "send later" moment, in the prospect's zone; ValueError if unreadable."""
        raw = self.query_one("#send_at", Input).value.strip()
        if not raw:
            return None
        try:
            moment = datetime.strptime(raw, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(self.tz))
        except ValueError:
            raise ValueError(t("ui.composer.bad_send_at", value=one_line(raw, 30))) from None
        if moment <= self.app.now():
            raise ValueError(t("ui.composer.past_send_at"))
        return moment

    # -- live feedback -------------------------------------------------------------------------

    @on(TextArea.Changed, "#body")
    async def _typed(self, event: TextArea.Changed) -> None:
        if event.text_area.text == "/":
            await self.action_template()
        self._text_changed()

    def _text_changed(self) -> None:
        """The text moved on: the shown explanation no longer holds until the next decision."""
        if self.decision is not None and self.outbound is not None:
            self.query_one(DecisionPanel).show(None, self.tz, t("ui.composer.deciding"))
        self._refresh()
        self._schedule_decision()

    @on(Select.Changed, "#channel")
    def _channel_changed(self) -> None:
        self._refresh()
        self._schedule_decision()

    def _show_subject(self) -> None:
        """Show the subject field only where the reply will be an e-mail.

        Auto before its first decision goes by the conversation's own channel; a subject
        already written stays visible, so nothing typed is ever hidden.
        """
        field = self.query_one("#subject", Input)
        channel = self.effective_channel()
        if channel is None and self.channel() is None:
            channel = self.home_channel()
        field.display = channel == Channel.EMAIL or bool(field.value.strip())

    def _schedule_decision(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DECIDE_DELAY, self.decide)

    def _refresh(self) -> None:
        self._show_subject()
        text = self.query_one("#body", TextArea).text
        self.query_one(Counter).show(text, self.effective_channel(), self.settings.prices)
        # Once the orchestrator has decided, its hold (or its "urgent: sent anyway") is the
        # authority on quiet hours: the composer's own guess would repeat or contradict it.
        quiet = self.settings.quiet_hours
        if self.decision is not None:
            quiet = quiet.model_copy(update={"enabled": False, "french_commercial_preset": False})
        local = local_warnings(
            self.thread, self.effective_channel(), self.app.now(), self.tz, quiet
        )
        if self.missing:
            local.append(t("ui.warning.missing", names=", ".join(self.missing)))
        self.query_one("#warnings", Static).update(warnings_text(self.decision, local, self.tz))
        if self.outbound is None:
            self.query_one(DecisionPanel).show(None, self.tz, t("ui.composer.no_outbound"))

    @work(exclusive=True, group="decide")
    async def decide(self) -> None:
        """Ask the orchestrator which channel it would take, and why."""
        if self.outbound is None or not self.app.link_online:
            return  # offline, the question would only fail: ask again after the next keypress
        draft = self.draft()
        if not (
            draft.text.strip() or draft.template_id or draft.attachments or draft.share_location
        ):
            # nothing written yet: the orchestrator would refuse the draft, say what to do
            self.decision = None
            self.query_one(DecisionPanel).show(None, self.tz, t("ui.composer.write_first"))
            self._refresh()
            return
        asked = (draft, self.channel())
        try:
            decision = await self.ask_decision(draft)
        except Exception as exc:
            notify_error(self.app, exc)
            return
        if (self.draft(), self.channel()) != asked:
            return  # the reply moved on while the core decided: its own decision is scheduled
        self.decision = decision
        picked = self.channel() is not None
        if not picked and decision.channel is not None:
            self.ranking = [decision.channel, *(a.channel for a in decision.alternatives[:2])]
        step = self._next_step() if picked else None
        self.query_one(DecisionPanel).show(
            self.decision, self.tz, picked=picked, next_channel=step[1] if step else None
        )
        self._refresh()

    # -- where the reply goes (the new-conversation composer writes to a prospect instead) -----

    async def ask_decision(self, draft: ReplyDraft) -> Decision:
        """The orchestrator's decision for ``draft`` in this conversation."""
        return await self.outbound.decide(self.thread.conversation.id, draft, self.channel())

    async def queue(self, draft: ReplyDraft, send_at: datetime | None) -> Message:
        """Queue ``draft`` through the pipeline; the message as queued."""
        return await self.outbound.send_reply(
            self.thread.conversation.id, draft, channel=self.channel(), send_at=send_at
        )

    def sent(self, message: Message) -> None:
        """After a successful send: back to the thread."""
        self.dismiss()

    def home_channel(self) -> Channel:
        """The channel templates are listed for while Auto has not decided."""
        return self.thread.conversation.channel

    # -- actions -------------------------------------------------------------------------------

    def action_alternative(self) -> None:
        """Walk Auto's ranking: its first alternative, the second, then back to Auto."""
        step = self._next_step()
        if step is None:
            self.notify(t("ui.composer.no_alternative"), timeout=3)
            return
        self.query_one("#channel", Select).value = step[0]

    def _next_step(self) -> tuple[str, str] | None:
        """Where ctrl+o goes from the channel shown: (the selector's value, its name)."""
        reachable = set(self.thread.prospect.reachable_channels())
        walk = [c for c in self.ranking[1:] if c in reachable]
        if not walk and self.decision is not None:  # no Auto decision yet: this one's alternatives
            walk = [a.channel for a in self.decision.alternatives[:2] if a.channel in reachable]
        picked = self.channel()
        if picked is None or picked not in walk:
            return (str(walk[0]), channel_name(walk[0])) if walk else None
        after = walk.index(picked) + 1
        if after < len(walk):
            return str(walk[after]), channel_name(walk[after])
        if not self.ranking:
            return str(walk[0]), channel_name(walk[0])
        return AUTO, t("ui.decision.back_to_auto", channel=channel_name(self.ranking[0]))

    async def action_template(self) -> None:
        channel = self.effective_channel() or self.home_channel()
        try:
            templates = [x for x in await self.app.service.templates.list(channel) if x.enabled]
        except Exception as exc:
            notify_error(self.app, exc)
            return
        if not templates:
            self.notify(t("ui.composer.no_templates", channel=channel_name(channel)), timeout=4)
            return
        by_id = {str(x.id): x for x in templates}

        def picked(key: str | None) -> None:
            if key is None:
                return
            template = by_id[key]
            self.values = known_values(
                self.thread.prospect,
                self.settings,
                self.appointments,
                self.app.now(),
                agent_name=self.agent_name,
                language=template.language,
            )
            text, self.missing = fill(template.content, self.values)
            self._template_id = template.id
            self.query_one("#body", TextArea).text = text
            if template.subject:
                self.query_one("#subject", Input).value = fill(template.subject, self.values)[0]
            # The body's Changed event may not reach _typed here (a "/" typed first opened
            # this dialog from inside _typed): say the text changed ourselves.
            self._text_changed()

        choices = [
            (k, f"{one_line(x.name, 30)} ({x.language}) — {one_line(x.content, 40)}")
            for k, x in by_id.items()
        ]
        self.app.push_screen(ChoiceScreen(t("ui.composer.pick_template"), choices), picked)

    async def action_send(self) -> None:
        if self.outbound is None:
            self.notify(t("ui.composer.no_outbound"), severity="warning", timeout=6)
            return
        if not self.app.link_online:
            # the database is away: sending would wait for it; keep everything as written
            self.notify(t("teamui.link.not_sent"), severity="warning", timeout=8, markup=False)
            return
        draft = self.draft()
        if not draft.text.strip() and not draft.attachments and not draft.share_location:
            self.notify(t("ui.composer.empty"), severity="warning", timeout=4)
            return
        if any(not p.is_file() for p in draft.attachments):
            self.notify(t("ui.composer.no_file"), severity="error", timeout=6)
            return
        try:
            send_at = self.send_at()
        except ValueError as exc:
            self.notify(one_line(exc, 300), severity="error", timeout=6, markup=False)
            return
        try:
            message = await self.queue(draft, send_at)
        except Exception as exc:
            notify_error(self.app, exc, t("teamui.link.send_failed"))
            return
        await self._forget_draft()
        self.notify(t("ui.done.queued"), timeout=3)
        self.sent(message)

    async def action_keep_draft(self) -> None:
        """Close; what is written stays as the conversation's draft."""
        drafts = self._drafts()
        if drafts is not None:
            body = self.query_one("#body", TextArea).text
            subject = self.query_one("#subject", Input).value
            try:
                kept = await drafts.keep(self.thread.conversation.id, body, subject)
            except Exception as exc:
                notify_error(self.app, exc)
                return  # the text stays on screen: nothing is lost
            if kept:
                self.notify(t("ui.composer.draft_kept"), timeout=3)
        self.dismiss()

    async def action_discard_draft(self) -> None:
        """Throw the draft away and close."""
        if await self._forget_draft():
            self.notify(t("ui.composer.draft_discarded"), timeout=3)
            self.dismiss()

    async def _forget_draft(self) -> bool:
        drafts = self._drafts()
        if drafts is None:
            return True
        try:
            await drafts.discard(self.thread.conversation.id)
        except Exception as exc:
            notify_error(self.app, exc)
            return False
        return True
