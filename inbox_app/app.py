"""The Textual application (first cut: the inbox list)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Header

from core.config.settings import Settings
from core.i18n import t
from core.service import InboxService


class InboxApp(App[int]):
    """Coccinelle Inbox."""

    TITLE = "Coccinelle Inbox"
    BINDINGS = [("q", "quit", "Quit")]

    def __init__(self, settings: Settings, service: InboxService | None = None) -> None:
        super().__init__()
        self.settings = settings
        self.service = service

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="conversations", cursor_type="row")
        yield Footer()

    async def on_mount(self) -> None:
        if self.service is None:
            self.service = await InboxService.open(self.settings)
        table = self.query_one(DataTable)
        table.add_columns(t("common.app_name"), "", "")
        page = await self.service.conversations.page()
        for item in page.items:
            table.add_row(
                item.prospect_name, t(f"common.channel.{item.channel}"), item.last_message_preview
            )

    async def on_unmount(self) -> None:
        if self.service is not None:
            await self.service.close()
