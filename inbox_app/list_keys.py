"""``j``/``k``/``g``/``G`` in every list: the inbox's sidebar, pick-lists, dialogs, tables.

The app carries these bindings, and so does each dialog (a modal screen hides the app's keys):
``BINDINGS = [..., *LIST_BINDINGS]`` with ``ListKeyActions`` among the bases. They act on the
focused widget when it is a list (a screen or a widget with its own ``j``/``k`` keeps them: it is
asked first). A text field keeps its letters.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import DataTable, ListView, OptionList, RadioSet

from core.i18n import t

LIST_BINDINGS = [
    Binding("j", "list_down", t("keymap.down"), show=False, id="list_down"),
    Binding("k", "list_up", t("keymap.up"), show=False, id="list_up"),
    Binding("g", "list_first", t("keymap.first"), show=False, id="list_first"),
    Binding("G", "list_last", t("keymap.last"), show=False, id="list_last"),
]
LIST_ACTIONS = frozenset(b.action for b in LIST_BINDINGS)
LIST_IDS = frozenset(b.id for b in LIST_BINDINGS)
_LISTS = (OptionList, ListView, DataTable, RadioSet)


def focused_list(widget: Widget | None) -> Widget | None:
    """``widget`` when it is a list these keys move in."""
    listed = isinstance(widget, _LISTS) or getattr(widget, "is_list", False)
    return widget if listed else None


def move(widget: Widget, where: str) -> None:
    """Move the list's cursor: ``down``, ``up``, ``first`` or ``last``."""
    if isinstance(widget, RadioSet):
        if where in ("down", "up"):
            widget.action_next_button() if where == "down" else widget.action_previous_button()
        return
    if where in ("down", "up"):
        getattr(widget, f"action_cursor_{where}")()
    elif isinstance(widget, OptionList):
        widget.action_first() if where == "first" else widget.action_last()
    elif isinstance(widget, ListView) or getattr(widget, "is_list", False):
        if not len(widget):  # type: ignore[arg-type]
            return
        widget.index = 0 if where == "first" else len(widget) - 1
    elif isinstance(widget, DataTable) and widget.row_count:
        widget.move_cursor(row=0 if where == "first" else widget.row_count - 1)


class ListKeyActions:
    """The actions of ``LIST_BINDINGS``, for the app and for dialogs (mixed into the class)."""

    focused: Widget | None

    def action_list_down(self) -> None:
        """Next in the focused list."""
        self._move_list("down")

    def action_list_up(self) -> None:
        """Previous in the focused list."""
        self._move_list("up")

    def action_list_first(self) -> None:
        """First in the focused list."""
        self._move_list("first")

    def action_list_last(self) -> None:
        """Last in the focused list."""
        self._move_list("last")

    def _move_list(self, where: str) -> None:
        widget = focused_list(self.focused)
        if widget is not None:
            move(widget, where)
