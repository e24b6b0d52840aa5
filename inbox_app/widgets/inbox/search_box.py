"""The inbox's search box: an Input whose typing does not lay the screen out again."""

from __future__ import annotations

from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import Input


class SearchBox(Input):
    """Search as you type, one line the width of the list.

    Input sets its scrollable width to its text's on every key, and that size asks for a layout
    of the whole screen; this box's size is fixed by the stylesheet (``inbox.tcss``), so the new
    width only needs the box repainted (it still scrolls the text as Input does).
    """

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)
