"""A small dialog to pick one of a few choices (priority, snooze, assignee…)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from core.i18n import t
from inbox_app.list_keys import LIST_BINDINGS, ListKeyActions
from inbox_app.render.safe import inert


class ChoiceScreen(ListKeyActions, ModalScreen[str | None]):
    """Returns the picked choice's key, or None on Escape."""

    BINDINGS = [
        *LIST_BINDINGS,
        Binding("escape", "cancel", t("ui.key.cancel"), id="cancel", tooltip=t("ui.tip.cancel")),
    ]

    def __init__(
        self, title: str, choices: list[tuple[str, str]], selected: str | None = None
    ) -> None:
        """``selected``: the key highlighted at first (what Enter alone picks), else the first."""
        super().__init__()
        self.title_text = title
        self.choices = choices
        self.selected = selected

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(inert(self.title_text), classes="question")
            yield OptionList(*[Option(inert(label), id=key) for key, label in self.choices])

    def on_mount(self) -> None:
        keys = [key for key, _ in self.choices]
        if self.selected in keys:
            self.query_one(OptionList).highlighted = keys.index(self.selected)

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
