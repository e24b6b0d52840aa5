"""The inbox's search box: an Input whose typing does not lay the screen out again, whose new
text starts the search before the screen draws the box, and whose echo of a key can wait for
that key's list to be drawn in the same frame."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import Input

#: The longest a key's echo waits for its list (``hold_echo``): a slow read does not leave
#: the agent without what they typed for longer than this.
ECHO_HOLD_SECONDS = 0.05


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

    A key's echo can also wait for the key's list (``hold_echo``, ``release_echo``): drawn
    alone, it is a frame of its own, and the list's frame cannot follow it before the next
    refresh period (1/60 s) however soon the list is ready; held, the box and the list are one
    frame.
    """

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def __init__(self, *args: Any, typed: Callable[[str], None] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._typed = typed
        #: The hold on the box's repaints (``hold_echo``'s token), None when not held.
        self._held: int | None = None
        self._holds = 0

    def _watch_value(self, value: str) -> None:
        super()._watch_value(value)
        if self._typed is not None and self.is_mounted:
            # told now, not by the ``Changed`` message: the box handles that message after it
            # handed its repaint to the screen, too late for the echo to wait for the list
            self._typed(value)

    def _on_input_changed(self, event: Input.Changed) -> None:
        if self._typed is not None and event.input is self:
            event.stop()  # told already (``_watch_value``): not a second time

    def hold_echo(self) -> int:
        """Keep the box's repaints from the screen until ``release_echo`` is given the token
        returned here, or ``ECHO_HOLD_SECONDS`` passed (a newer hold replaces this one)."""
        self._holds += 1
        token = self._held = self._holds
        self.set_timer(ECHO_HOLD_SECONDS, lambda: self.release_echo(token))
        return token

    def release_echo(self, token: int) -> None:
        """End the hold ``token`` (if it is still the newest), and hand the box's pending
        repaint to the screen now: it joins the frame being prepared."""
        if self._held == token:
            self._held = None
            self._check_refresh()

    @property
    def echo_held(self) -> bool:
        """Whether the box's repaints are being held."""
        return self._held is not None

    def _check_refresh(self) -> None:
        if self._held is None:
            super()._check_refresh()
