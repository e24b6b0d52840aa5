"""Every key of the screen the agent came from, and of the app, with what it does."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from core.i18n import t
from inbox_app.list_keys import LIST_IDS
from inbox_app.widgets.footer import Footer

#: Width of the keys' column; descriptions wrap to the right of it.
KEY_COLUMN = 18


def _key_name(key: str) -> str:
    """A binding's keys as the keyboard in the user's language names them ("Échap", "Entrée")."""
    names = {
        "question_mark": "?",
        "slash": "/",
        "escape": t("keynames.escape"),
        "enter": t("keynames.enter"),
        "tab": t("keynames.tab"),
        "space": t("keynames.space"),
        "semicolon": ";",
    }
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
            yield Static(self._keys(self.app.size.width), id="keys")
        yield Footer()

    def on_resize(self) -> None:
        self.query_one("#keys", Static).update(self._keys(self.size.width))

    def _keys(self, width: int) -> Text:
        text = Text()
        text.append(t("ui.help.common") + "\n", style="bold underline")
        common = [
            ("j / k, ↑ / ↓", t("ui.help.move")),
            ("g / G", t("ui.help.first_last")),
            (t("keynames.enter"), t("ui.help.open")),
            (t("keynames.tab"), t("ui.help.focus")),
            ("ctrl+p", t("ui.help.palette")),
        ]
        for key, what in common:
            self._line(text, key, Text(what), width)
        for title, owner in (
            (t("ui.help.this_screen"), self.under),
            (t("ui.help.everywhere"), self.app),
        ):
            text.append("\n" + title + "\n", style="bold underline")
            mine = getattr(self.app, "keymap", {})  # the agent's own keys ([keymap])
            for binding in getattr(owner, "BINDINGS", []):
                if not isinstance(binding, Binding) or not binding.description:
                    continue
                if binding.id in LIST_IDS:
                    continue  # listed with the common keys
                what = Text(binding.description)
                if binding.tooltip:
                    what.append(f" — {binding.tooltip}", style="dim")
                key = mine.get(binding.id, binding.key) if binding.id else binding.key
                self._line(text, _key_name(key), what, width)
        return text

    def _line(self, text: Text, key: str, what: Text, width: int) -> None:
        """``key`` then ``what``, whose wrapped lines stay in the description column."""
        text.append(f"  {key:<{KEY_COLUMN - 2}}", style="bold")
        room = max(20, width - KEY_COLUMN - 6)  # the padding and the scroll bar
        for index, line in enumerate(what.wrap(self.app.console, room)):
            if index:
                text.append(" " * KEY_COLUMN)
            text.append_text(line)
            text.append("\n")

    def action_back(self) -> None:
        self.app.pop_screen()
