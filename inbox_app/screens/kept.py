"""Screens the app keeps and shows again: shown without restyling or redrawing what is current."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip


class KeptLines:
    """A screen whose own lines (its opaque background, under its widgets) are drawn once per
    size and look, not on each paint that asks for all of it.

    Textual repaints the screen under the top one when another is pushed over it, and the top
    one when it is shown again: both clear the screen's own lines, so each open of a thread and
    each return to the inbox drew a line per row of the terminal (one through the styles cache
    each, about a third of the lines of an open) that no cell on screen had changed. An opaque
    screen's lines are its background only: the same for the same size, colours and filters.
    """

    _kept_lines: tuple[tuple[Any, ...], list[Strip]] | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        screen: Any = self
        if screen.styles.background.a < 1:  # a see-through screen shows the one under it
            return super().render_lines(crop)  # type: ignore[misc]
        app = screen.app
        key = (
            crop,
            screen.size,
            screen.background_colors,
            app.theme,
            tuple(app.get_line_filters()),
        )
        kept = self._kept_lines
        if kept is not None and kept[0] == key:
            return list(kept[1])
        lines: list[Strip] = super().render_lines(crop)  # type: ignore[misc]
        if crop == screen.size.region:
            self._kept_lines = (key, list(lines))
        return lines

    def notify_style_update(self) -> None:
        super().notify_style_update()  # type: ignore[misc]
        self._kept_lines = None


def resume_styled(screen: Screen[Any], event: events.ScreenResume) -> None:
    """From a kept screen's ``on_screen_resume``: skip Textual's restyle of every widget when
    neither the theme nor the app's CSS changed since the screen was last shown (a class that
    changes restyles its widget then, shown or not)."""
    app = screen.app
    seen = (app.theme, app._css_update_count)
    if seen == getattr(screen, "_kept_styled_for", None):
        event.refresh_styles = False
    screen._kept_styled_for = seen  # type: ignore[attr-defined]
