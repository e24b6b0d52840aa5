"""Styled lines kept across repaints: the styles cache's work done once per line and look.

Textual paints a widget's line in two steps: the widget draws its content line, then the
widget's styles cache adds what the CSS gives it (the background past the content, tint,
opacity, padding, border) and makes a new ``Strip``, to which the app's line filters are then
applied (each filter's result kept on that new strip). Any repaint of the widget empties the
styles cache, so a widget whose content lines are themselves kept (the inbox list draws each row
once per place and look) still had each of them styled and filtered again on every frame it
changed in: a channel switch styled 46 list lines that had been drawn ahead.

``KeptStylesCache`` keeps the styled line made from a content line, by the content strip itself
and everything else the styling reads: the same content strip in the same look comes back as the
same styled strip (and so with its filtered versions). Lines with a border, an outline, padding
or a hatch go through Textual's path unchanged.

``KeptScrollBar`` keeps a scroll bar's painted lines by what it shows (its size, thumb and
colours): the list's bar was repainted on every focus change, although its colours are the same
focused or not (Textual refreshes the bars whenever a scroll bar colour is set, even to its
value).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from textual._styles_cache import StylesCache
from textual.cache import LRUCache
from textual.color import Color
from textual.filter import LineFilter
from textual.geometry import Region, Size, Spacing
from textual.scrollbar import ScrollBar
from textual.strip import Strip

#: Looks of a scroll bar kept painted (focused or not, each thumb position a list shows…).
SCROLL_BAR_LOOKS = 64


class Styling(NamedTuple):
    """What styling a content line reads from a widget's styles and colours (a look): the
    styles cache's own arguments and the style rules it consults. Compared by value."""

    width: int
    content_width: int
    base_background: Color
    background: Color
    padding: Spacing
    border: tuple[object, ...]
    outline: tuple[object, ...]
    hatch: object
    tint: Color
    text_opacity: float
    opacity: float
    ansi_theme: int  # the theme's id: the themes are kept by the app
    native_ansi: bool


class _Rules:
    """The style rules ``StylesCache.render_line`` reads for a content line, from a
    ``Styling`` (a widget's styles as they were, or will be)."""

    def __init__(self, styling: Styling) -> None:
        self.border = styling.border
        self.outline = styling.outline
        self.tint = styling.tint
        self.text_opacity = styling.text_opacity
        self.hatch = styling.hatch
        border_spacing = Spacing(*(1 if edge else 0 for edge, _ in styling.border))
        self.gutter = styling.padding + border_spacing

    def has_rule(self, rule: str) -> bool:
        return rule == "hatch" and self.hatch is not None


class KeptStylesCache(StylesCache):
    """A widget's styles cache that keeps each styled content line by its content line and
    look; the border and padding rows (and an outline's top and bottom) are made as before."""

    def __init__(self, lines: int) -> None:
        super().__init__()
        #: (id of the content strip, look) → (content strip, styled strip); the content strip
        #: is kept with it, so that its id is not given to another strip meanwhile.
        self._kept: LRUCache[tuple[int, Styling], tuple[Strip, Strip]] = LRUCache(lines)
        #: The look of the last line styled (``Styling``), and the ansi theme it was made with.
        self.last: tuple[Styling, Any] | None = None

    def render_line(
        self,
        styles: Any,
        y: int,
        size: Size,
        content_size: Size,
        padding: Spacing,
        base_background: Color,
        background: Color,
        render_content_line: Callable[[int], Strip],
        border_title: Any,
        border_subtitle: Any,
        opacity: float,
        ansi_theme: Any,
        native_ansi: bool,
    ) -> Strip:
        """A styled line: the one made before from the same content line in the same look."""
        args = (border_title, border_subtitle, opacity, ansi_theme, native_ansi)
        gutter = styles.gutter
        outline = styles.outline
        content_y = y - gutter.top
        if (
            not gutter.top <= y < size.height - gutter.bottom
            or content_y >= content_size.height
            or (outline[0][0] and y == 0)
            or (outline[2][0] and y == size.height - 1)
        ):
            return super().render_line(
                styles, y, size, content_size, padding, base_background, background,
                render_content_line, *args,
            )  # fmt: skip
        styling = Styling(
            size.width,
            content_size.width,
            base_background,
            background,
            padding,
            styles.border,
            outline,
            styles.hatch if styles.has_rule("hatch") and styles.hatch != "none" else None,
            styles.tint,
            styles.text_opacity,
            opacity,
            id(ansi_theme),
            native_ansi,
        )
        self.last = (styling, ansi_theme)
        return self._styled(render_content_line(content_y), styling, ansi_theme, size, y, styles)

    def style_ahead(
        self, content: Strip, look: tuple[Styling, Any], filters: Sequence[LineFilter]
    ) -> None:
        """Style ``content`` (a content line about to be shown) in ``look`` (``last`` of a
        paint in the look it will be shown in), and apply the app's line ``filters`` to it as
        the paint will: showing it then finds it styled and filtered."""
        styling, ansi_theme = look
        if styling.outline[0][0] or styling.outline[2][0]:
            return  # an outline's top row is not a content row
        rules = _Rules(styling)
        size = Size(styling.width, rules.gutter.top + 1 + rules.gutter.bottom)
        strip = self._styled(content, styling, ansi_theme, size, rules.gutter.top, rules)
        for line_filter in filters:
            strip = strip.apply_filter(line_filter, styling.background)

    def _styled(
        self, content: Strip, styling: Styling, ansi_theme: Any, size: Size, y: int, styles: Any
    ) -> Strip:
        key = (id(content), styling)
        kept = self._kept.get(key)
        if kept is not None and kept[0] is content:
            return kept[1]
        content_size = Size(styling.content_width, size.height)
        strip = super().render_line(
            styles, y, size, content_size, styling.padding, styling.base_background,
            styling.background, lambda _: content, None, None, styling.opacity, ansi_theme,
            styling.native_ansi,
        )  # fmt: skip
        self._kept[key] = (content, strip)
        return strip


class KeptScrollBar(ScrollBar):
    """A scroll bar whose painted lines are kept by what they show."""

    def __init__(self, vertical: bool = True, name: str | None = None, *, thickness: int = 1):
        super().__init__(vertical, name, thickness=thickness)
        self._painted: LRUCache[tuple[object, ...], list[Strip]] = LRUCache(SCROLL_BAR_LOOKS)

    def render_lines(self, crop: Region) -> list[Strip]:
        """The bar's lines, painted once per look."""
        look = self._look(crop)
        lines = self._painted.get(look)
        if lines is None:
            lines = self._painted[look] = super().render_lines(crop)
        return list(lines)

    def _look(self, crop: Region) -> tuple[object, ...]:
        """Everything the bar's lines depend on: what ``render`` hands the renderer (size,
        thumb, style), the bar's own styles, its size and the part painted."""
        bar = self.render()
        shown = tuple(
            getattr(bar, name, None)
            for name in ("virtual_size", "window_size", "position", "thickness", "vertical")
        )
        style = getattr(bar, "style", None)
        return (
            type(bar),
            self.renderer,
            shown,
            style,
            crop,
            self.size,
            self.background_colors,
            self.rich_style,
            self.styles.tint,
            self.app.theme,
            self.app.ansi_color,
        )
