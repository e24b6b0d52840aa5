"""The inbox's search box: an Input whose typing does not lay the screen out again, and whose
new text starts the search before the screen draws the box."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import Input


class SearchBox(Input):
    """Search as you type, one line the width of the list.

    Input sets its scrollable width to its text's on every key, and that size asks for a layout
    of the whole screen; this box's size is fixed by the stylesheet (``inbox.tcss``), so the new
    width only needs the box repainted (it still scrolls the text as Input does).

    ``typed`` is given each new text as soon as the box has it. Its ``Changed`` message reaches
    the screen through each container between them, one message queue after another, and the
    box's own repaint gets there first: the screen drew the box before it started the search,
    and the search's read then waited for that frame. Told at once, the read is under way while
    the box is drawn.
    """

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def __init__(self, *args: Any, typed: Callable[[str], None] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._typed = typed

    def _on_input_changed(self, event: Input.Changed) -> None:
        if self._typed is not None and event.input is self:
            event.stop()  # handled: the screen is not told a second time
            self._typed(event.value)
