"""Checkboxes whose state reads without colour: the mark is there only when checked."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox

from core.i18n import t


class StateCheckbox(Checkbox):
    """``[X]`` checked, ``[ ]`` not (Textual's own shows the X in both, only its colour changes)."""

    def render(self) -> Content:
        self.BUTTON_INNER = "X" if self.value else " "
        return super().render()


def switch_state(on: bool) -> str:
    """ "On" / "Off", said next to a switch (its colour alone would not say it)."""
    return t("ui.settings.switch_on") if on else t("ui.settings.switch_off")
