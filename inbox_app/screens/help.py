"""Every key of the screen the agent came from, and of the app, with what it does."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from core.i18n import t


def _key_name(key: str) -> str:
    names = {"question_mark": "?", "slash": "/", "escape": "Esc", "enter": "Enter"}
    return ", ".join(names.get(k, k) for k in key.split(","))


class HelpScreen(Screen[None]):
    """The keys, grouped by where they work."""

    CSS_PATH = "help.tcss"
    BINDINGS = [
        Binding(
            "q,escape,question_mark",
            "back",
            t("ui.key.back"),
            id="help_back",
            tooltip=t("ui.tip.back"),
        )
    ]

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        yield Static(Text(t("ui.help.title"), style="bold"), id="title")
        with VerticalScroll(id="help"):
            yield Static(self._keys(), id="keys")
        yield Footer()

    def _keys(self) -> Text:
        text = Text()
        text.append(t("ui.help.common") + "\n", style="bold underline")
        common = [
            ("j / k, ↑ / ↓", t("ui.help.move")),
            ("Enter", t("ui.help.open")),
            ("Tab", t("ui.help.focus")),
            ("ctrl+p", t("ui.help.palette")),
        ]
        for key, what in common:
            text.append(f"  {key:<16}", style="bold")
            text.append(what + "\n")
        for title, owner in (
            (t("ui.help.this_screen"), self.under),
            (t("ui.help.everywhere"), self.app),
        ):
            text.append("\n" + title + "\n", style="bold underline")
            for binding in getattr(owner, "BINDINGS", []):
                if isinstance(binding, Binding) and binding.description:
                    text.append(f"  {_key_name(binding.key):<16}", style="bold")
                    text.append(binding.description)
                    if binding.tooltip:
                        text.append(f" — {binding.tooltip}", style="dim")
                    text.append("\n")
        return text

    def action_back(self) -> None:
        self.app.pop_screen()
