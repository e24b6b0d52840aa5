"""The inbox sidebar: channels with their counts, then the saved views."""

from __future__ import annotations

from textual.cache import LRUCache
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from core.domain.enums import Channel
from core.domain.inbox_filter import View
from core.i18n import t
from inbox_app.render.kept_lines import KeptStylesCache
from inbox_app.render.words import channel_name
from inbox_app.widgets.caches import UnlinkedLRUCache, unlinked
from inbox_app.widgets.kept_styles import KeptStyles

ALL = "all"
#: Looks of the whole sidebar kept painted (focused or not, each option highlighted, a width…).
PAINTED_LOOKS = 64
#: Styled lines kept (each option's line in each look it was painted in).
KEPT_LINES = 1_000


class Sidebar(KeptStyles, OptionList):
    """Pick a channel ("all" or one) or a saved view; counts are (unread, total)."""

    class Picked(Message):
        """The agent picked a channel or a view."""

        def __init__(self, channel: Channel | None, view: View) -> None:
            super().__init__()
            self.channel = channel
            self.view = view

    class Considered(Message):
        """The highlight moved to a channel or a view (not picked yet: its page may be read)."""

        def __init__(self, channel: Channel | None, view: View) -> None:
            super().__init__()
            self.channel = channel
            self.view = view

    def __init__(self, **kwargs: object) -> None:
        options: list[Option | None] = [Option(t("ui.inbox.all"), id=ALL)]
        options += [Option(channel_name(c), id=f"channel:{c}") for c in Channel]
        options.append(None)
        options += [Option(t(f"ui.view.{v}"), id=f"view:{v}") for v in View if v is not View.ALL]
        #: The sidebar's painted lines by look (``_look``): picking a channel moves the focus
        #: to the list and back, and each focus change repainted every line of the sidebar.
        self._painted: LRUCache[tuple[object, ...], list[Strip]] = UnlinkedLRUCache(PAINTED_LOOKS)
        #: Each painted line by what it shows and its look (``_paint``).
        self._kept_lines: LRUCache[tuple[object, ...], Strip] = UnlinkedLRUCache(KEPT_LINES)
        super().__init__(*options, **kwargs)  # type: ignore[arg-type]
        unlinked(self._option_render_cache)  # emptied on every count or size change
        self._counts: dict[str, tuple[int, int]] | None = None
        #: Each styled line kept by its option's drawn line and look: a look painted for the
        #: first time (a channel picked for the first time) styles only the lines that differ
        #: from a look painted before (``render/kept_lines.py``).
        self._styles_cache = KeptStylesCache(KEPT_LINES)
        #: The blank line below the options, by width and style (the same strip each paint,
        #: so that its styled line is kept too).
        self._blanks: LRUCache[tuple[object, ...], Strip] = LRUCache(PAINTED_LOOKS)

    @property
    def counts(self) -> dict[str, tuple[int, int]] | None:
        """The (unread, total) counts shown, None before the first."""
        return self._counts

    def show_counts(self, counts: dict[str, tuple[int, int]]) -> None:
        """Refresh the channel lines with (unread, total) counts (only the lines that changed)."""
        if counts == self._counts:
            return
        self._counts = dict(counts)
        for key in (ALL, *Channel):
            unread, total = counts.get(str(key), (0, 0))
            name = t("ui.inbox.all") if key == ALL else channel_name(key)
            ident = ALL if key == ALL else f"channel:{key}"
            label = t("ui.inbox.count", name=name, unread=unread, total=total)
            self.replace_option_prompt(ident, label)

    def render_lines(self, crop: Region) -> list[Strip]:
        """The sidebar's lines, painted once per look and kept: focused and blurred, with
        each option highlighted, are all the looks a channel switch goes through."""
        look = self._look(crop)
        lines = self._painted.get(look)
        if lines is None:
            lines = self._painted[look] = self._paint(crop, look)
        return list(lines)

    def _paint(self, crop: Region, look: tuple[object, ...]) -> list[Strip]:
        """The lines of a look not painted before, each kept by what it shows: a line that
        shows the same thing in the same styles as in a look painted before (every option
        but the highlighted ones, when the highlight moves) is not painted again."""
        self._update_lines()
        style, _, size, scroll, *_ = look
        top = self.styles.gutter.top
        shown = self._lines
        content_height = self.scrollable_content_region.height
        keys = []
        for y in crop.line_range:
            line = scroll.y + y - top
            if 0 <= y - top < content_height and 0 <= line < len(shown):
                index, offset = shown[line]
                what: tuple[object, ...] = (
                    index,
                    offset,
                    index == self.highlighted,
                    index == self._mouse_hovering_over,
                )
            else:
                what = ()
            keys.append((style, crop.column_span, size, scroll, y, what))
        kept = [self._kept_lines.get(key) for key in keys]
        missing = [i for i, line in enumerate(kept) if line is None]
        if len(missing) > len(kept) // 2:
            kept = list(super().render_lines(crop))
            missing = list(range(len(kept)))
        else:
            for i in missing:
                kept[i] = super().render_lines(crop.intersection(
                    Region(crop.x, crop.y + i, crop.width, 1)
                ))[0]  # fmt: skip
        for i in missing:
            self._kept_lines[keys[i]] = kept[i]
        return kept  # type: ignore[return-value]

    def render_line(self, y: int) -> Strip:
        """A line of the sidebar; below the options, the one blank line of this width and
        style."""
        if self.scroll_offset.y + y < len(self._lines):
            return super().render_line(y)
        style = self.get_visual_style("option-list--option").rich_style
        key = (self.scrollable_content_region.width, style)
        blank = self._blanks.get(key)
        if blank is None:
            blank = self._blanks[key] = super().render_line(y)
        return blank

    def _look(self, crop: Region) -> tuple[object, ...]:
        """Everything the painted lines depend on beside the options (their change drops
        the kept lines): the styles as the stylesheet gives them now (focus and hover
        included), the size, the scroll, the highlighted and the hovered option."""
        styles = self.styles
        style = (
            self._pseudo_classes_cache_key,
            self.app.theme,
            self.app.ansi_color,
            self.rich_style,
            styles.border,
            styles.background_tint,
            self.get_component_rich_style("option-list--option-highlighted"),
        )
        hover = self._mouse_hovering_over
        return (style, crop, self.size, self.scroll_offset, self.highlighted, hover)

    def _clear_caches(self) -> None:
        """The options changed (a count, a resize): the kept looks are dropped."""
        self._painted.clear()
        self._kept_lines.clear()
        super()._clear_caches()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.Picked(*choice(event.option.id)))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self.post_message(self.Considered(*choice(event.option.id)))


def choice(ident: str | None) -> tuple[Channel | None, View]:
    """The channel and the view an option of the sidebar stands for."""
    ident = ident or ALL
    if ident.startswith("channel:"):
        return Channel(ident.split(":", 1)[1]), View.ALL
    if ident.startswith("view:"):
        return None, View(ident.split(":", 1)[1])
    return None, View.ALL
