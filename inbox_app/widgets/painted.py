"""Line-API widgets whose painted lines (their styles applied) can be made ahead of a show."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual._styles_cache import StylesCache
from textual.geometry import Region
from textual.strip import Strip

#: What a painting was made for: the widget's sizes, scroll, focus and look.
PaintKey = tuple[Any, ...]


class Painting:
    """A widget's lines as the styles cache holds them (padding, border and background
    applied; the app's filters too, kept on each line), made while the app was idle for
    content not shown yet."""

    __slots__ = ("cache", "key")

    def __init__(self, key: PaintKey, cache: StylesCache) -> None:
        self.key = key
        self.cache = cache


class PaintsAhead:
    """Mixin for a line-API widget (``render_line``) whose next content is known ahead (a
    thread read ahead, its prospect): ``paint_ahead`` makes the lines that content will paint,
    ``use_painting`` hands them to the next paint, which copies them instead of drawing each
    line through Textual's styles cache (a new ``Strip`` or three per line, about a tenth of a
    millisecond each under load: the panel's and the timeline's 44 lines were two thirds of the
    lines of an open).

    A painting is used only while nothing was asked to repaint since (any ``refresh`` with a
    repaint drops it: a live update, a cursor move, a new look) and the widget's sizes, scroll,
    focus and colours are the ones it was made for; else the widget paints as usual.
    """

    _painting: Painting | None = None

    def paint_state(self) -> tuple[Any, ...]:
        """What else the widget's lines depend on now, that its content does not say (none)."""
        return ()

    def paint_key(
        self, scroll_y: int, focused: bool, state: tuple[Any, ...] | None = None
    ) -> PaintKey:
        """What a painting depends on besides its content: sizes, scroll, focus, colours, and
        the widget's own ``state`` (``paint_state()`` when not given)."""
        widget: Any = self
        app = widget.app
        return (
            self.paint_state() if state is None else state,
            widget.region.size,
            widget.content_region.size,
            widget.styles.padding,
            scroll_y,
            focused,
            widget.background_colors,
            widget.opacity,
            app.theme,
            tuple(app.get_line_filters()),
        )

    def paint_ahead(
        self,
        content_line: Callable[[int], Strip],
        scroll_y: int,
        focused: bool,
        state: tuple[Any, ...] = (),
    ) -> Painting | None:
        """The lines this widget would paint, at its size and in its look now, if
        ``content_line(y)`` drew the content's line ``y`` (scrolled by ``scroll_y``: the
        widget's own ``render_line`` for that content), its focus were ``focused`` and its
        ``paint_state()`` were ``state``. None when the widget cannot be painted ahead (no
        size yet, a border title)."""
        widget: Any = self
        size = widget.region.size
        if not size or widget._border_title is not None or widget._border_subtitle is not None:
            return None
        base_background, background = widget.background_colors
        app = widget.app
        cache = StylesCache()
        cache.render(
            widget.styles,
            size,
            base_background,
            background,
            content_line,
            widget.get_line_filters(),
            None,
            None,
            content_size=widget.content_region.size,
            padding=widget.styles.padding,
            crop=size.region,
            opacity=widget.opacity,
            ansi_theme=app.ansi_theme,
            native_ansi=app.native_ansi_color,
        )
        return Painting(self.paint_key(scroll_y, focused, state), cache)

    def use_painting(self, painting: Painting | None) -> None:
        """Have the next paint copy ``painting`` if it still fits (call after the content it
        was made for is in place and asked for its repaint)."""
        self._painting = painting

    def refresh(self, *regions: Region, repaint: bool = True, **kwargs: Any) -> Any:
        if repaint:
            self._painting = None
        return super().refresh(*regions, repaint=repaint, **kwargs)  # type: ignore[misc]

    def notify_style_update(self) -> None:
        self._painting = None
        super().notify_style_update()  # type: ignore[misc]

    def render_lines(self, crop: Region) -> list[Strip]:
        painting = self._painting
        if painting is not None:
            self._painting = None
            widget: Any = self
            if painting.key == self.paint_key(widget.scroll_offset.y, widget.has_focus):
                # its lines are this paint's: the styles cache then only hands them out, and
                # a later repaint of a few lines draws those few, as after any paint
                widget._styles_cache = painting.cache
        return super().render_lines(crop)  # type: ignore[misc]
