"""A one-line question (a label list, a date, a note); bad answers are refused in place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from core.i18n import t
from inbox_app.list_keys import LIST_BINDINGS, ListKeyActions
from inbox_app.render.safe import inert


class PromptScreen(ListKeyActions, ModalScreen[Any]):
    """Ask for one value; ``parse`` turns the text into the result or raises ValueError."""

    BINDINGS = [
        *LIST_BINDINGS,
        Binding("escape", "cancel", t("ui.key.cancel"), id="cancel", tooltip=t("ui.tip.cancel")),
    ]

    def __init__(
        self,
        title: str,
        value: str = "",
        placeholder: str = "",
        parse: Callable[[str], Any] = str,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder
        self.parse = parse

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(inert(self.title_text))
            yield Input(self.value, placeholder=self.placeholder)
            yield Static(id="problem", classes="error")
            yield Label(t("ui.prompt.hint"), classes="hint")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        try:
            result = self.parse(event.value)
        except ValueError as exc:
            self.query_one("#problem", Static).update(inert(str(exc)))
            return
        self.dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)
