"""The "reconnecting…" line shown on every main screen while the shared database is away."""

from __future__ import annotations

from textual.widgets import Static

from core.i18n import t


class LinkStatus(Static):
    """Hidden while the live link is up; one warning line while the app reconnects.

    Follows the app's ``link_online`` (set from the core's ``ConnectionState`` events).
    """

    DEFAULT_CSS = """
    LinkStatus {
        display: none;
        height: 1;
        padding: 0 1;
        background: $warning;
        color: $text;
        text-style: bold;
    }
    LinkStatus.-offline {
        display: block;
    }
    """

    def __init__(self) -> None:
        super().__init__(t("teamui.link.offline"), id="link-status", markup=False)

    def on_mount(self) -> None:
        self.watch(self.app, "link_online", self._show)

    def _show(self, online: bool) -> None:
        self.set_class(not online, "-offline")

    @property
    def shown(self) -> bool:
        """Whether the line is on screen (the app is reconnecting)."""
        return self.has_class("-offline")
