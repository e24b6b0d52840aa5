"""Provider events the core could not apply: how many, why, and a Retry button.

Opened from the notice the app shows when events are parked (F9, or the command palette).
Retrying puts them back in the ingest queue; the relay's worker applies them.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from core.i18n import t
from inbox_app.list_keys import LIST_BINDINGS, ListKeyActions
from inbox_app.render.safe import one_line


class ParkedEventsScreen(ListKeyActions, ModalScreen[int]):
    """The parked events with their reasons; dismissed with how many were retried."""

    BINDINGS = [
        *LIST_BINDINGS,
        Binding("escape", "close", t("ui.key.cancel"), id="cancel", tooltip=t("ui.tip.cancel")),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="parked-events"):
            yield Label(id="parked-title")
            with VerticalScroll():
                yield Static(id="parked-list")
            with Horizontal():
                yield Button(t("events.notice_retry"), id="retry", variant="primary")
                yield Button(t("ui.key.cancel"), id="close")

    async def on_mount(self) -> None:
        await self.reload()

    async def reload(self) -> None:
        """Read the parked events again."""
        parked = await self.app.service.inbound_events.parked()  # type: ignore[attr-defined]
        self.query_one("#parked-title", Label).update(t("events.notice", count=len(parked)))
        lines = [
            one_line(f"#{e.id} {e.endpoint} — " + t("events.notice_why", error=e.error), 300)
            for e in parked
        ]
        self.query_one("#parked-list", Static).update(Text("\n".join(lines)))
        self.query_one("#retry", Button).disabled = not parked

    @on(Button.Pressed, "#retry")
    def _retry(self) -> None:
        self.retry()

    @work(exclusive=True)
    async def retry(self) -> None:
        """Put every parked event back in the queue."""
        count = await self.app.service.inbound_events.retry()  # type: ignore[attr-defined]
        self.app.notify(t("events.notice_retried", count=count), markup=False)
        self.dismiss(count)

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        self.dismiss(0)
