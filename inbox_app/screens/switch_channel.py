"""Switch a conversation to another channel the prospect can be reached on.

Two steps, nothing sent before the second: pick the channel, then read the preview — the
transition message in the prospect's language (editable; left empty, nothing is sent) and the
orchestrator's decision for it on that channel. Ctrl+S switches, Escape cancels.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from core.domain.enums import Channel
from core.domain.models import Thread
from core.i18n import t
from inbox_app.errors import notify_error
from inbox_app.list_keys import LIST_BINDINGS, ListKeyActions
from inbox_app.render.safe import one_line
from inbox_app.render.words import channel_name
from inbox_app.widgets.composer.decision_panel import DecisionPanel, warnings_text


class SwitchChannelScreen(ListKeyActions, ModalScreen[int | None]):
    """Returns the new conversation's id once the core has switched, or None."""

    CSS_PATH = "switch_channel.tcss"
    BINDINGS = [
        *LIST_BINDINGS,
        Binding("escape", "cancel", t("ui.key.cancel"), id="cancel", tooltip=t("ui.tip.cancel")),
        Binding(
            "ctrl+s",
            "confirm",
            t("ui.switch.key_confirm"),
            id="switch_confirm",
            tooltip=t("ui.switch.tip_confirm"),
            priority=True,
        ),
    ]

    def __init__(self, thread: Thread) -> None:
        super().__init__()
        self.thread = thread
        #: The channel picked; None while the agent is still choosing.
        self.target: Channel | None = None
        self.preview = None

    def targets(self) -> list[Channel]:
        """Channels the prospect can be written to, other than the current one (a call is
        made with ``C``, not switched to)."""
        current = self.thread.conversation.channel
        return [
            c
            for c in self.thread.prospect.reachable_channels()
            if c not in (current, Channel.VOICE)
        ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="switch"):
            yield Label(
                t("ui.switch.title", channel=channel_name(self.thread.conversation.channel)),
                id="switch_title",
            )
            options = [
                Option(
                    f"{channel_name(c)} — {one_line(self.thread.prospect.identifier(c), 40)}",
                    id=str(c),
                )
                for c in self.targets()
            ]
            yield OptionList(*options, id="targets")
            if not options:
                yield Label(t("ui.switch.none"), classes="error")
            with Vertical(id="preview"):
                yield Label(id="preview_title", classes="section")
                yield TextArea(id="transition", soft_wrap=True, show_line_numbers=False)
                yield Static(id="warnings")
                yield DecisionPanel(id="decision")
                yield Label(t("ui.switch.hint"), classes="hint")

    def on_mount(self) -> None:
        self.query_one("#preview").display = False

    @property
    def outbound(self):
        """``service.outbound``, or None while sending is not available."""
        return getattr(self.app.service, "outbound", None)

    @on(OptionList.OptionSelected, "#targets")
    async def _picked(self, event: OptionList.OptionSelected) -> None:
        if self.outbound is None:
            self.notify(t("ui.composer.no_outbound"), severity="warning", timeout=6)
            return
        channel = Channel(str(event.option.id))
        try:
            preview = await self.outbound.preview_switch(self.thread.conversation.id, channel)
        except Exception as exc:
            notify_error(self.app, exc)
            return
        self.target, self.preview = channel, preview
        self._show_preview()

    def _show_preview(self) -> None:
        assert self.preview is not None and self.target is not None
        tz = self.thread.prospect.timezone
        self.query_one("#targets").display = False
        self.query_one("#preview").display = True
        title = t(
            "ui.switch.preview",
            channel=channel_name(self.target),
            language=t(f"ui.switch.language_{self.preview.language}"),
        )
        self.query_one("#preview_title", Label).update(title)
        area = self.query_one("#transition", TextArea)
        area.text = self.preview.text
        area.focus()
        decision = self.preview.decision
        self.query_one("#warnings", Static).update(warnings_text(decision, [], tz))
        self.query_one(DecisionPanel).show(decision, tz, forced=True)

    async def action_confirm(self) -> None:
        """Switch, sending the transition as it stands now (empty: nothing is sent)."""
        if self.target is None or self.outbound is None:
            return
        text = self.query_one("#transition", TextArea).text
        try:
            conversation = await self.outbound.switch_channel(
                self.thread.conversation.id, self.target, text
            )
        except Exception as exc:
            notify_error(self.app, exc)
            return
        done = "ui.done.switched" if text.strip() else "ui.done.switched_silently"
        self.notify(t(done, channel=channel_name(conversation.channel)), timeout=3)
        self.dismiss(conversation.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
