"""The inbox sidebar: channels with their counts, then the saved views."""

from __future__ import annotations

from textual.cache import LRUCache
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from core.domain.enums import Channel
from core.i18n import t
from core.service import View
from inbox_app.render.words import channel_name
from inbox_app.widgets.caches import UnlinkedLRUCache, unlinked

ALL = "all"
#: Looks of the whole sidebar kept painted (focused or not, each option highlighted, a width…).
PAINTED_LOOKS = 64


class Sidebar(OptionList):
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
        super().__init__(*options, **kwargs)  # type: ignore[arg-type]
        unlinked(self._option_render_cache)  # emptied on every count or size change
        self._counts: dict[str, tuple[int, int]] | None = None

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
            lines = self._painted[look] = super().render_lines(crop)
        return list(lines)

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
