"""The conversation screen's "Also here: Marie" line (team mode)."""

from __future__ import annotations

from textual.widgets import Static

from core.i18n import t
from inbox_app.render.safe import inert


class PresenceLine(Static):
    """Names the other agents who have the same conversation open; hidden when nobody has."""

    DEFAULT_CSS = """
    PresenceLine {
        display: none;
        height: 1;
        padding: 0 1;
        color: $accent;
        text-style: bold;
    }
    PresenceLine.-others {
        display: block;
    }
    """

    def __init__(self) -> None:
        super().__init__(id="presence")
        self.names: list[str] = []

    def show(self, names: list[str]) -> None:
        """Show ``names`` (untrusted: each agent's app sends its own)."""
        if list(names) == getattr(self, "_shown", None):
            return
        self._shown = list(names)
        self.names = list(names)
        self.set_class(bool(names), "-others")
        text = t("teamui.presence.also_here", names=", ".join(names)) if names else ""
        self.update(inert(text, single_line=True))
