"""The Textual application: opens the inbox, relays the core's events to the screens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual import work
from textual.app import App
from textual.binding import Binding

from core.config.settings import Settings
from core.i18n import t
from core.service import InboxService
from inbox_app.errors import notify_error
from inbox_app.palette import ActionsProvider


class InboxApp(App[int]):
    """Coccinelle Inbox.

    Args:
        service: the core facade; when None it is opened from ``settings`` at start.
        settings: the loaded configuration.
        clock: "now" for relative times (tests and screenshots pass a fixed one).
        live: listen to the core's events (new messages appear without a keypress).
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
    ]

    def __init__(
        self,
        service: InboxService | None = None,
        settings: Settings | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        live: bool = True,
    ) -> None:
        super().__init__()
        self.service: InboxService = service  # type: ignore[assignment]  # set in on_mount
        self.settings = settings or (service.settings if service else None) or Settings()
        self._clock = clock
        self._live = live
        self._owns_service = service is None

    def now(self) -> datetime:
        """The app's "now"."""
        return self._clock() if self._clock else self.service.ctx.now()

    async def on_mount(self) -> None:
        if self.service is None:
            self.service = await InboxService.open(self.settings)
        if self._clock is not None:
            self.service.ctx.clock = self._clock
        from inbox_app.screens.inbox import InboxScreen

        await self.push_screen(InboxScreen())
        if self._live:
            self.listen()

    @work(exclusive=True, group="live")
    async def listen(self) -> None:
        """Forward every core event to the open screens."""
        async with self.service.bus.subscribe() as queue:
            while True:
                event = await queue.get()
                for screen in list(self.screen_stack):
                    handler = getattr(screen, "core_event", None)
                    if handler is not None:
                        try:
                            await handler(event)
                        except Exception as exc:  # a refresh must never take the app down
                            notify_error(self, exc)

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

    async def on_unmount(self) -> None:
        if self._owns_service and self.service is not None:
            await self.service.close()
