"""Switch a conversation to another channel the prospect can be reached on."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from core.domain.enums import Channel
from core.domain.models import Thread
from core.i18n import t
from inbox_app.errors import notify_error
from inbox_app.render.safe import one_line
from inbox_app.render.words import channel_name


class SwitchChannelScreen(ModalScreen[int | None]):
    """Returns the new conversation's id once the core has switched, or None."""

    BINDINGS = [
        Binding("escape", "cancel", t("ui.key.cancel"), id="cancel", tooltip=t("ui.tip.cancel"))
    ]

    def __init__(self, thread: Thread) -> None:
        super().__init__()
        self.thread = thread

    def targets(self) -> list[Channel]:
        """Channels the prospect can be reached on, other than the current one."""
        current = self.thread.conversation.channel
        return [c for c in self.thread.prospect.reachable_channels() if c != current]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(
                t("ui.switch.title", channel=channel_name(self.thread.conversation.channel))
            )
            options = [
                Option(
                    f"{channel_name(c)} — {one_line(self.thread.prospect.identifier(c), 40)}",
                    id=str(c),
                )
                for c in self.targets()
            ]
            yield OptionList(*options)
            if not options:
                yield Label(t("ui.switch.none"), classes="error")

    @on(OptionList.OptionSelected)
    async def _picked(self, event: OptionList.OptionSelected) -> None:
        outbound = getattr(self.app.service, "outbound", None)
        if outbound is None:
            self.notify(t("ui.composer.no_outbound"), severity="warning", timeout=6)
            return
        try:
            conversation = await outbound.switch_channel(
                self.thread.conversation.id, Channel(event.option.id)
            )
        except Exception as exc:
            notify_error(self.app, exc)
            return
        self.notify(t("ui.done.switched", channel=channel_name(conversation.channel)), timeout=3)
        self.dismiss(conversation.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
