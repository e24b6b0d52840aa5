"""The prospect's timeline across channels: messages, notes, calls, links to other threads.

Message metadata read here (written by the relay and the adapters): ``duration_seconds``,
``summary`` and ``transcript`` for calls; ``attachments`` (``core.service.attachments``: each
shown with its type and size); ``location`` (``latitude``, ``longitude``,
``address``).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message as TextualMessage
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar
from textual.strip import Strip
from textual.visual import Visual, visualize

from core.domain.enums import Direction, MessageKind, MessageStatus, SenderType
from core.domain.models import Conversation, ConversationSummary, Message, Thread
from core.i18n import format_number, t
from core.i18n.deferred import is_line
from core.i18n.deferred import render as render_line
from core.service.attachments import listed
from inbox_app.render.files import attachment_kind, file_size
from inbox_app.render.safe import clean, inert, one_line
from inbox_app.render.words import channel_name, status_word, when
from inbox_app.thread_window import WINDOW
from inbox_app.widgets.painted import Painting, PaintsAhead

#: Threads drawn ahead and kept (the inbox's highlighted conversation's and the next unread).
AHEAD = 2
PROBLEM_STATUSES = {
    MessageStatus.FAILED,
    MessageStatus.UNDELIVERED,
    MessageStatus.UNKNOWN,
    MessageStatus.EXPIRED,
}


#: A thread's timeline lines and scroll bar lines painted ahead.
_Paintings = tuple[Painting | None, Painting | None]

#: The kinds of item, each drawn its own way (``note``: a bar and a tint; ``event``: centred, dim;
#: ``outbound``: indented; ``separator`` and ``link``: no blank line after them).
KINDS = ("note", "inbound", "outbound", "separator", "link", "event")
#: Kinds followed by no blank line.
_TIGHT = frozenset({"separator", "link"})


class Entry:
    """What one item shows, before (or without) a place in the timeline for it.

    The body may be given as a function that draws it: a long thread's older items are drawn
    only when the reader goes up to them, so opening it draws a screen's worth.
    """

    def __init__(
        self,
        body: Text | Callable[[], Text],
        message: Message | None = None,
        link: int | None = None,
        classes: str = "",
    ) -> None:
        self._body = body
        self.message = message
        self.link = link
        self.classes = classes

    @property
    def drawn(self) -> bool:
        """Whether the text was drawn already."""
        return isinstance(self._body, Text)

    @property
    def body(self) -> Text:
        """The item's text (drawn on first use)."""
        if not isinstance(self._body, Text):
            self._body = self._body()
        return self._body


class TimelineItem:
    """One item of the timeline (not a widget: the timeline draws its items' lines itself);
    knows the message or the linked conversation it shows."""

    def __init__(self, entry: Entry) -> None:
        self.message = entry.message
        self.link = entry.link
        self.expanded = False
        self.classes = frozenset(entry.classes.split())
        self._entry = entry
        #: The item's lines for (width, highlighted, focused), drawn on first use.
        self._strips: tuple[tuple[int, bool, bool], list[Strip]] | None = None
        self._height: tuple[int, int] | None = None  # (width, lines)

    @property
    def body(self) -> Text:
        """The text the item shows."""
        return self._entry.body

    @property
    def text(self) -> str:
        """The item's text, plain."""
        return self.body.plain

    def has_class(self, name: str) -> bool:
        """Whether the item is of kind ``name`` (``note``, ``inbound``…)."""
        return name in self.classes

    @property
    def tight(self) -> bool:
        """No blank line after this item."""
        return not self.classes.isdisjoint(_TIGHT)

    def set_body(self, body: Text) -> None:
        """Show ``body`` instead (the timeline redraws the item)."""
        self._entry = Entry(body, self.message, self.link, self._entry.classes)
        self._strips = self._height = None


class _ScrollBar(PaintsAhead, ScrollBar):
    """The timeline's vertical scroll bar. Its column is always there (``overflow-y: scroll``):
    a thread taller or shorter than the one before needs no new layout of the screen (a bar
    shown or hidden asks for one, and its paint for one more frame). With nothing to scroll it
    is drawn in the timeline's background, as if there were none.

    Textual's bar asks for one more layout for its own "virtual size" (a bar scrolls nothing:
    it has no use for one), a frame after the layout that placed it. It does not ask.

    A thread drawn ahead has its bar painted ahead too (``paint_bar_ahead``)."""

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        return super()._size_updated(size, virtual_size, container_size, layout=False)

    def render_lines(self, crop: Region) -> list[Strip]:
        if self.window_virtual_size > self.window_size or self.parent is None:
            return super().render_lines(crop)
        style = Style(bgcolor=self.parent.background_colors[1].rich_color)
        return [Strip.blank(crop.width, style)] * crop.height

    def paint_state(self) -> tuple[Any, ...]:
        return (self.window_virtual_size, self.window_size, self.position, self.mouse_over)

    def paint_bar_ahead(self, virtual: int, window: int, position: float) -> Painting | None:
        """The bar's lines for a timeline of ``virtual`` lines, ``window`` shown from line
        ``position`` (None when nothing is to scroll: the bar is then drawn blank)."""
        width, height = self.size
        if virtual <= window or self.parent is None or not (width and height) or self.grabbed:
            return None
        shown = (self.window_virtual_size, self.window_size, self.position)
        # the bar's own drawing, for those values (set without a repaint, then put back)
        self.set_reactive(ScrollBar.window_virtual_size, virtual)
        self.set_reactive(ScrollBar.window_size, window)
        self.set_reactive(ScrollBar.position, position)
        try:
            visual = visualize(self, self.render(), markup=self._render_markup)
            strips = Visual.to_strips(self, visual, width, height, self.visual_style)
        finally:
            self.set_reactive(ScrollBar.window_virtual_size, shown[0])
            self.set_reactive(ScrollBar.window_size, shown[1])
            self.set_reactive(ScrollBar.position, shown[2])
        blank = Strip.blank(width, self.visual_style.rich_style)
        return self.paint_ahead(
            lambda y: strips[y] if 0 <= y < len(strips) else blank,
            0,
            False,
            (virtual, window, position, self.mouse_over),
        )


class Timeline(PaintsAhead, ScrollView, can_focus=True):
    """Oldest first; Enter opens a linked conversation or expands a call's transcript.

    One widget draws every item's lines (Textual's line API): opening a thread lays out and
    styles one widget, not one per message, and each item's lines are drawn once and kept. A
    thread drawn ahead is painted ahead too, as it opens (at its end, its last item highlighted,
    focused): showing it copies the painted lines.
    """

    DEFAULT_CSS = """
    Timeline {
        background: $surface;
        overflow-x: hidden;
        overflow-y: scroll;
        &:focus { background-tint: $foreground 5%; }
        & > .timeline--item { color: $foreground; }
        & > .timeline--note { background: $warning 10%; }
        & > .timeline--note-bar { color: $warning; }
        & > .timeline--event { color: $text-muted; }
        & > .timeline--cursor {
            color: $block-cursor-blurred-foreground;
            background: $block-cursor-blurred-background;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .timeline--cursor {
            color: $block-cursor-foreground;
            background: $block-cursor-background;
            text-style: $block-cursor-text-style;
        }
        /* a note keeps its own background under the cursor */
        & > .timeline--note-cursor {
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .timeline--note-cursor {
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """
    COMPONENT_CLASSES = {
        "timeline--item",
        "timeline--note",
        "timeline--note-bar",
        "timeline--event",
        "timeline--cursor",
        "timeline--note-cursor",
    }

    BINDINGS = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding(
            "j",
            "cursor_down",
            t("ui.key.down"),
            show=False,
            id="timeline_down",
            tooltip=t("ui.tip.down"),
        ),
        Binding(
            "k", "cursor_up", t("ui.key.up"), show=False, id="timeline_up", tooltip=t("ui.tip.up")
        ),
    ]

    #: A list the app's ``g``/``G`` keys move in (``inbox_app.list_keys``).
    is_list = True

    class LinkOpened(TextualMessage):
        """The agent opened a link to another conversation."""

        def __init__(self, conversation_id: int) -> None:
            super().__init__()
            self.conversation_id = conversation_id

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # the thread's text carries no links (``inert``): no link styling pass over each line
        self.auto_links = False
        self.tz: str | None = None
        #: The oldest entries, not in the timeline until the reader goes up to them.
        self._older: list[Entry] = []
        self._shown_for: int | None = None
        #: The items shown, oldest first.
        self.items: list[TimelineItem] = []
        self._index: int | None = None
        #: The first line of each item, and the width they were laid out for.
        self._tops: list[int] = []
        self._laid_for = -1
        #: The item to scroll to once the timeline has its size.
        self._pending: int | None = None
        #: Whether the thread shown goes back to its first message (else older ones were not
        #: read: ``fetch_older`` reads further back when the reader goes up).
        self._complete = True
        #: Reads the thread further back (the screen's); then ``update`` brings it in.
        self.fetch_older: Callable[[], Awaitable[None]] | None = None
        #: Threads drawn ahead (``draw_ahead``), by conversation, size and zone: the read,
        #: its entries, the newest as items, and the timeline's lines painted for them.
        self._ahead: dict[
            tuple[int, int, int, str | None],
            tuple[Thread, list[Entry], list[TimelineItem], _Paintings],
        ] = {}

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        """The vertical scroll bar (made on first use, as Textual's, but of ``_ScrollBar``)."""
        if self._vertical_scrollbar is None:
            bar = _ScrollBar(vertical=True, name="vertical", thickness=self.scrollbar_size_vertical)
            bar.display = False
            self._vertical_scrollbar = bar
            self.app._start_widget(self, bar)
        return self._vertical_scrollbar

    # -- the items --------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.items)

    @property
    def index(self) -> int | None:
        """The highlighted item's position (None: no item)."""
        return self._index

    @index.setter
    def index(self, value: int | None) -> None:
        if value is not None:
            value = max(0, min(value, len(self.items) - 1)) if self.items else None
        old, self._index = self._index, value
        if old != value:
            self._refresh_item(old)
            self._refresh_item(value)
        if value is not None:
            self.scroll_to_item(value)

    @property
    def highlighted_child(self) -> TimelineItem | None:
        """The highlighted item."""
        if self._index is None or not 0 <= self._index < len(self.items):
            return None
        return self.items[self._index]

    def _set_items(self, items: list[TimelineItem]) -> None:
        self.items = items
        if self._index is not None and self._index >= len(items):
            self._index = len(items) - 1 if items else None
        self._laid_for = -1
        self._lay_out()
        self.refresh()

    async def show(self, thread: Thread, tz: str | None) -> None:
        """Draw ``thread`` (replacing what was there), keeping the cursor at the end.

        Only the newest items that fill the screen (at most ``WINDOW``) are in the timeline;
        older ones come in as the reader reaches the top, so a long thread opens as fast as a
        short one.
        """
        self.tz = tz
        self._shown_for = thread.conversation.id
        self._complete = thread.complete
        entries, newest, painted = self._drawn(thread, tz)
        self._older = entries[: len(entries) - len(newest)]
        self._index = None
        self._set_items(newest)
        self.index = len(self) - 1 if len(self) else None
        self.scroll_end(animate=False, immediate=True)
        # used only if they still fit (sizes, scroll, focus, looks)
        self.use_painting(painted[0])
        self.vertical_scrollbar.use_painting(painted[1])

    def draw_ahead(self, thread: Thread, tz: str | None) -> None:
        """Draw the items ``show`` would for ``thread`` now (while the app is idle): showing
        that same thread then only lays them out. The last ``AHEAD`` threads are kept."""
        key = self._ahead_key(thread, tz)
        if key[1] <= 0 or key[2] <= 0:
            return
        entries = build_entries(thread, tz)
        items = self._screenful(entries)
        self._ahead.pop(key, None)
        self._ahead[key] = (thread, entries, items, self._paint_ahead(items))
        while len(self._ahead) > AHEAD:
            del self._ahead[next(iter(self._ahead))]

    def drawn_ahead(self, thread: Thread) -> bool:
        """Whether ``thread`` (this very read) is drawn ahead."""
        return any(kept[0] is thread for kept in self._ahead.values())

    def _ahead_key(self, thread: Thread, tz: str | None) -> tuple[int, int, int, str | None]:
        region = self.scrollable_content_region
        return thread.conversation.id, region.width, region.height, tz

    def _drawn(
        self, thread: Thread, tz: str | None
    ) -> tuple[list[Entry], list[TimelineItem], _Paintings]:
        """The entries of ``thread``, the newest of them as items and their painting: those
        drawn ahead for this very thread (same read, size and zone), else drawn now."""
        ahead = self._ahead.pop(self._ahead_key(thread, tz), None)
        if ahead is not None and ahead[0] is thread:
            return ahead[1], ahead[2], ahead[3]
        entries = build_entries(thread, tz)
        return entries, self._screenful(entries), (None, None)

    def _paint_ahead(self, items: list[TimelineItem]) -> _Paintings:
        """The timeline's lines and its scroll bar's as ``show`` leaves them for ``items``:
        scrolled to the end, the last item highlighted, the timeline focused."""
        width, height = self._width(), self.scrollable_content_region.height
        if width <= 0 or height <= 0 or not items:
            return None, None
        tops, y = [], 0
        for item in items:
            tops.append(y)
            y += self._measure(item, width)
        scroll_y, index = max(0, y - height), len(items) - 1
        lines = self.paint_ahead(
            lambda line: self._line_of(items, tops, index, True, width, line + scroll_y),
            scroll_y,
            True,
        )
        window = self.container_size.height - self.scrollbar_size_horizontal
        bar = self.vertical_scrollbar
        return lines, bar.paint_bar_ahead(y, window, scroll_y) if isinstance(
            bar, _ScrollBar
        ) else None

    def _screenful(self, entries: list[Entry]) -> list[TimelineItem]:
        """The newest of ``entries`` as items, as many as fill the timeline and one more (at
        most ``WINDOW``; ``WINDOW`` before the timeline has a size). They are measured, so
        drawn, here: the items above the screen are not drawn at all."""
        width, height = self._width(), self.scrollable_content_region.height
        items: list[TimelineItem] = []
        lines = 0
        for entry in reversed(entries[-WINDOW:]):
            items.append(TimelineItem(entry))
            if width > 0 and height > 0:
                lines += self._measure(items[-1], width)
                if lines > height:
                    break
        items.reverse()
        return items

    async def update(self, thread: Thread, tz: str | None) -> None:
        """Show ``thread`` again without redrawing what did not change.

        A message whose status or text moved is redrawn in its place; new messages at the end of
        the current conversation are appended. The cursor and the scroll stay where the reader
        left them, unless they were on the last item (then they follow the new end). Anything
        else (another conversation, a merge, a reordering) draws the thread anew.
        """
        if thread.conversation.id != self._shown_for or tz != self.tz:
            await self.show(thread, tz)
            return
        known = self._by_message()
        first = next((i for i, m in enumerate(thread.messages) if m.id in known), None)
        if first is None:
            await self.show(thread, tz)
            return
        # a read further back: older messages above the oldest shown; a read that reached less
        # far back than what is shown (new messages pushed the oldest out of it): those stay
        older, rest = thread.messages[:first], thread.messages[first:]
        added = [m for m in rest if m.id not in known]
        ids = [m.id for m in rest if m.id in known]
        shown_ids = list(known)
        if not self._appendable(thread, added) or ids != shown_ids[len(shown_ids) - len(ids) :]:
            await self.show(thread, tz)
            return
        if older and not self._prepend(thread, older, rest[0]):
            await self.show(thread, tz)
            return
        if older or len(ids) == len(shown_ids):
            self._complete = thread.complete
        for message in rest:
            shown = known.get(message.id)
            if shown is not None and shown.message != message:
                self._patch(shown, message)
        if added:
            self._append(added)

    def _prepend(self, thread: Thread, older: Sequence[Message], oldest: Message) -> bool:
        """Put ``older`` (read further back) above ``oldest``, the oldest message shown, until
        the reader goes up to them; False if the timeline cannot take them in place."""
        head = self._older[0] if self._older else None
        if head is None or head.message is not None or "separator" not in head.classes:
            return False  # the thread's top is on screen: it is drawn anew
        entries = older_entries(thread, older, oldest, self.tz)
        if older[-1].conversation_id == oldest.conversation_id:
            self._older.pop(0)  # one run of one conversation: one separator, above the older
        self._older[:0] = entries
        return True

    def _by_message(self) -> dict[int, Entry | TimelineItem]:
        shown: list[Entry | TimelineItem] = [*self._older, *self.items]
        return {i.message.id: i for i in shown if i.message is not None}

    def _appendable(self, thread: Thread, added: list[Message]) -> bool:
        """Whether ``added`` can go at the end: the newest, all in the open conversation."""
        if not added:
            return True
        tail = thread.messages[-len(added) :]
        last = self.items[-1] if self.items else None
        return (
            [m.id for m in tail] == [m.id for m in added]
            and all(m.conversation_id == thread.conversation.id for m in added)
            and last is not None
            and last.message is not None
            and last.message.conversation_id == thread.conversation.id
        )

    def _patch(self, shown: Entry | TimelineItem, message: Message) -> None:
        if isinstance(shown, TimelineItem):
            shown.message = message
            self.set_body(shown, _entry(message, self.tz, expanded=shown.expanded).body)
        else:  # not in the timeline yet
            self._older[self._older.index(shown)] = _entry(message, self.tz)

    def set_body(self, item: TimelineItem, body: Text) -> None:
        """Show ``body`` in ``item``; the scroll stays unless the item's height changed above
        the reader."""
        if item._entry.drawn and body == item.body:
            return  # e.g. a message marked read: the same text, nothing to repaint
        before = item._height
        item.set_body(body)
        position = self.items.index(item)
        if before is not None and self._measure(item, before[0]) == before[1]:
            self._refresh_item(position)
            return
        self._laid_for = -1
        self._lay_out()
        self.refresh()

    def _append(self, messages: list[Message]) -> None:
        following = self.index is None or self.index >= len(self) - 1
        self._set_items([*self.items, *(TimelineItem(_entry(m, self.tz)) for m in messages)])
        if following:
            self.index = len(self) - 1
            self.scroll_end(animate=False, immediate=True)

    async def reveal_all(self) -> None:
        """Bring every older item in (a search needs all of its matches on screen)."""
        while self._older:
            await self.reveal_older()

    async def reveal_older(self) -> None:
        """Bring the next ``WINDOW`` older items in above the first one, cursor unmoved (read
        further back first when what is left would bring the thread's top in, and it is not
        its real top)."""
        if len(self._older) <= WINDOW and not self._complete and self.fetch_older is not None:
            await self.fetch_older()
        if not self._older:
            return
        batch, self._older = self._older[-WINDOW:], self._older[:-WINDOW]
        index = self._index
        top = self._tops[0] if self._tops else 0
        shown_top = self.scroll_y - top
        self._set_items([*(TimelineItem(e) for e in batch), *self.items])
        added = (self._tops[len(batch)] if len(self._tops) > len(batch) else 0) - top
        self.scroll_to(y=shown_top + added, animate=False, immediate=True)
        if index is not None:
            self._index = index + len(batch)
            self.refresh()

    # -- layout and drawing -----------------------------------------------------------------

    def _width(self) -> int:
        return self.scrollable_content_region.width

    def _measure(self, item: TimelineItem, width: int) -> int:
        """The lines ``item`` takes at ``width`` (its blank line after it included)."""
        if item._height is None or item._height[0] != width:
            lines = self._lines(item, width, False)  # kept: most items are drawn unhighlighted
            item._height = (width, len(lines))
        return item._height[1]

    def _lay_out(self) -> None:
        """Where each item starts, for the current width (the virtual size follows)."""
        width = self._width()
        if width <= 0:
            return
        if width == self._laid_for and len(self._tops) == len(self.items):
            return
        self._place(width)
        if self._width() != width > 0:  # the scrollbar came or went: lay out for the width left
            self._place(self._width())

    def _place(self, width: int) -> None:
        """Lay the items out at ``width``; the virtual size, the scrollbar and the scroll
        position follow at once.

        Settled here rather than at the screen's next layout (which Textual leaves to it): a
        scrollbar found there changes the width, so the screen is laid out and painted again,
        and the scrollbar's refresh from inside that layout paints one more frame.
        """
        tops, y = [], 0
        for item in self.items:
            tops.append(y)
            y += self._measure(item, width)
        self._tops, self._laid_for = tops, width
        size = Size(width, y)
        if size != self.virtual_size:
            # Not a layout of the screen (Textual's virtual size asks for one): the timeline's
            # region does not change with its items, and a scrollbar shown or hidden asks for
            # the layout it needs itself.
            self.set_reactive(Timeline.virtual_size, size)
            self._scroll_update(size)
            self.refresh()

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        # The compositor hands a line-API widget its region as "virtual size", so each layout
        # of the screen would update the scrollbars again (one more frame): the timeline keeps
        # its own virtual size (``_place``) and only a new size or container needs this.
        if size == self._size and container_size == self.container_size:
            return False
        return super()._size_updated(size, virtual_size, container_size, layout)

    def on_resize(self) -> None:
        self._lay_out()
        if self._pending is not None:
            self.scroll_to_item(self._pending)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        for item in self.items:
            item._strips = None
        self._ahead.clear()  # drawn in the old styles

    def _on_focus(self, event: Any) -> None:
        self._refresh_item(self._index)

    def _on_blur(self, event: Any) -> None:
        self._refresh_item(self._index)

    def _refresh_item(self, position: int | None) -> None:
        if position is None or not 0 <= position < len(self._tops):
            return
        item = self.items[position]
        item._strips = None
        height = item._height[1] if item._height else 1
        self.refresh_lines(self._tops[position], height)

    def _padding(self, item: TimelineItem) -> tuple[int, int]:
        return (4 if "outbound" in item.classes else 1), 1

    def _draw_body(self, item: TimelineItem, width: int, highlighted: bool) -> list[Strip]:
        """The item's lines, padded, at ``width``."""
        note = "note" in item.classes
        left, right = self._padding(item)
        bar = 1 if note else 0  # a thick bar on the left (``border-left: thick``)
        inner = max(1, width - left - right - bar)
        names = ["timeline--item"]
        if note:
            names.append("timeline--note")
            if highlighted:
                names.append("timeline--note-cursor")
        elif highlighted:
            names.append("timeline--cursor")
        if "event" in item.classes:
            names.append("timeline--event")
        style = self.get_visual_style(*names)
        rich = style.rich_style
        event = "event" in item.classes
        visual = visualize(self, item.body)
        strips = Visual.to_strips(self, visual, inner, None, style, pad=not event)
        if event:
            strips = [_centred(s, inner, rich) for s in strips]
        edge = Strip.blank(left, rich), Strip.blank(right, rich)
        lines = []
        if note:
            bar_style = self.get_visual_style(
                "timeline--item", "timeline--note", "timeline--note-bar"
            ).rich_style
            lead = Strip([Segment("█", bar_style)])
        for strip in strips:
            parts = [lead] if note else []
            lines.append(Strip.join([*parts, edge[0], strip, edge[1]]))
        return lines

    def _lines(
        self, item: TimelineItem, width: int, highlighted: bool, focused: bool | None = None
    ) -> list[Strip]:
        focused = self.has_focus if focused is None else focused
        key = (width, highlighted, highlighted and focused)
        if item._strips is None or item._strips[0] != key:
            lines = self._draw_body(item, width, highlighted)
            if not item.tight:
                lines.append(Strip.blank(width, self.rich_style))
            item._strips = (key, lines)
        return item._strips[1]

    def render_line(self, y: int) -> Strip:
        self._lay_out()
        line = y + self.scroll_offset.y
        return self._line_of(
            self.items, self._tops, self._index, self.has_focus, self._width(), line
        )

    def _line_of(
        self,
        items: list[TimelineItem],
        tops: list[int],
        index: int | None,
        focused: bool,
        width: int,
        line: int,
    ) -> Strip:
        """Line ``line`` of ``items`` laid out at ``tops`` (item ``index`` highlighted)."""
        position = bisect_right(tops, line) - 1
        if position < 0 or not items or width <= 0:
            return Strip.blank(max(width, 0), self.rich_style)
        item = items[position]
        lines = self._lines(item, width, position == index, focused)
        offset = line - tops[position]
        if offset >= len(lines):
            return Strip.blank(width, self.rich_style)
        return lines[offset]

    # -- moving -----------------------------------------------------------------------------

    def item_region(self, position: int) -> Region | None:
        """Where item ``position`` is, in the timeline's virtual space (None: not laid out yet,
        the timeline has no size)."""
        self._lay_out()
        if len(self._tops) != len(self.items) or self._laid_for != self._width():
            return None
        item = self.items[position]
        height = (item._height[1] if item._height else 1) - (0 if item.tight else 1)
        return Region(0, self._tops[position], self._width(), max(1, height))

    def scroll_to_item(self, position: int, *, animate: bool = False) -> None:
        """Scroll until item ``position`` is in view."""
        if not 0 <= position < len(self.items):
            return
        region = self.item_region(position)
        if region is None:  # once the timeline has its size
            self._pending = position
            return
        self._pending = None
        self.scroll_to_region(region, animate=animate, immediate=True)

    async def action_cursor_up(self) -> None:
        if self._older and (self.index or 0) == 0:
            await self.reveal_older()
        if self._index is None:
            self.index = len(self) - 1 if self.items else None
        elif self._index > 0:
            self.index = self._index - 1

    def action_cursor_down(self) -> None:
        if self._index is None:
            self.index = 0 if self.items else None
        elif self._index < len(self.items) - 1:
            self.index = self._index + 1

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new <= 0 < old and self._older:
            self.call_later(self.reveal_older)

    def on_click(self, event: events.Click) -> None:
        line = event.y + self.scroll_offset.y
        position = bisect_right(self._tops, line) - 1
        if 0 <= position < len(self.items):
            self.focus()
            self.index = position
            self.action_select_cursor()

    def selected_message(self) -> Message | None:
        """The highlighted message, if the highlighted item is one."""
        item = self.highlighted_child
        return item.message if item is not None else None

    def action_select_cursor(self) -> None:
        item = self.highlighted_child
        if item is None:
            return
        if item.link is not None:
            self.post_message(self.LinkOpened(item.link))
        elif item.message is not None and _folds(item.message):
            item.expanded = not item.expanded
            self.set_body(item, message_text(item.message, self.tz, expanded=item.expanded))


def _folds(message: Message) -> bool:
    """Whether Enter unfolds ``message`` (a call's transcript, a withdrawn message)."""
    return message.kind == MessageKind.CALL or message.status == MessageStatus.CANCELLED


def _centred(strip: Strip, width: int, style: Style) -> Strip:
    """``strip``'s text centred in ``width`` (``text-align: center``)."""
    length = strip.cell_length
    if length >= width:
        return strip.crop(0, width)
    left = (width - length) // 2
    return Strip.join([Strip.blank(left, style), strip, Strip.blank(width - length - left, style)])


def build_entries(thread: Thread, tz: str | None) -> list[Entry]:
    """Every item of the timeline, with separators where the conversation changes (the link
    to the conversation this one continues opens a complete thread only)."""
    convo = thread.conversation
    entries = _runs(thread, thread.messages, tz)
    entries += [_link(t("ui.thread.switched_to", id=i), i) for i in convo.switched_to_ids]
    if not thread.messages:
        entries.append(Entry(Text(t("ui.thread.empty"))))
    return entries


def older_entries(
    thread: Thread, older: Sequence[Message], oldest: Message, tz: str | None
) -> list[Entry]:
    """The items of ``older`` (read further back) that go above ``oldest``, the oldest message
    shown: a separator above ``oldest`` if its conversation is not the one they end in."""
    entries = _runs(thread, older, tz)
    if oldest.conversation_id != older[-1].conversation_id:
        other = next((c for c in thread.related if c.id == oldest.conversation_id), None)
        entries.append(_separator(thread.conversation, other, oldest.conversation_id))
    return entries


def _runs(thread: Thread, messages: Sequence[Message], tz: str | None) -> list[Entry]:
    """``messages``' items, a separator above each run of one conversation (the thread's top
    opens with the link to the conversation this one continues)."""
    convo = thread.conversation
    others = {c.id: c for c in thread.related}
    entries: list[Entry] = []
    top = thread.complete and (not thread.messages or messages[:1] == thread.messages[:1])
    if top and convo.switched_from_id:
        label = t("ui.thread.switched_from", id=convo.switched_from_id)
        entries.append(_link(label, convo.switched_from_id))
    current: int | None = None
    for message in messages:
        if message.conversation_id != current:
            current = message.conversation_id
            entries.append(_separator(convo, others.get(current), current))
        entries.append(_entry(message, tz))
    return entries


def _entry(message: Message, tz: str | None, *, expanded: bool = False) -> Entry:
    if message.kind == MessageKind.EVENT:
        target = (message.metadata or {}).get("switched_to_id")
        link = target if isinstance(target, int) else None
        body = lambda: event_text(message, tz)  # noqa: E731
        return Entry(body, message=message, link=link, classes="event")
    kind = "note" if message.kind == MessageKind.NOTE else str(message.direction)
    text = lambda: message_text(message, tz, expanded=expanded)  # noqa: E731
    return Entry(text, message=message, classes=kind)


def _separator(
    current: Conversation, other: ConversationSummary | None, conversation_id: int
) -> Entry:
    if conversation_id == current.id:
        text = t("ui.thread.this_conversation", channel=channel_name(current.channel))
        return Entry(Text(f"── {text} ──", style="bold"), classes="separator")
    channel = channel_name(other.channel) if other else ""
    status = t(f"common.status.{other.status}") if other else ""
    text = t("ui.thread.earlier_conversation", id=conversation_id, channel=channel, status=status)
    return Entry(Text(f"── {text} ──", style="dim"), link=conversation_id, classes="separator")


def event_text(message: Message, tz: str | None) -> Text:
    """An internal event ("Conversation continued on SMS", "Appointment booked: …"): not a
    message to the prospect, so drawn apart — dim, prefixed, no arrow and no delivery status —
    and put into the agent's language now (older events stored as text are shown as stored)."""
    meta = message.metadata or {}
    stored = meta.get("line")
    if not is_line(stored) and meta.get("switched_to_id") and meta.get("channel"):
        # a switch link written before events were stored untranslated
        stored = {"key": "orchestrator.switch.event", "params": {"channel": _channel(meta)}}
    words = render_line(stored, tz) if is_line(stored) else message.content
    text = Text(f"· {when(message.created_at, tz)} · ", style="dim")
    text.append_text(inert(words, "dim italic", single_line=True))
    return text


def _channel(meta: dict[str, Any]) -> dict[str, str]:
    return {"channel": str(meta["channel"])}


def _link(label: str, conversation_id: int) -> Entry:
    return Entry(Text(f"↪ {label}", style="underline"), link=conversation_id, classes="link")


def message_text(message: Message, tz: str | None, *, expanded: bool = False) -> Text:
    """The header line and the body of one timeline item, all untrusted parts inert."""
    if message.status == MessageStatus.CANCELLED and not expanded:
        return _withdrawn(message, tz)
    text = Text()
    text.append_text(_header(message, tz))
    text.append("\n")
    meta = message.metadata or {}
    if message.kind == MessageKind.CALL:
        _call(text, meta, expanded, message)
    if message.subject:
        text.append_text(inert(message.subject, "bold", single_line=True))
        text.append("\n")
    content = _without_title(message.content, message.subject)
    if content and not _repeats_summary(message, meta):
        text.append_text(inert(content, "italic" if message.kind == MessageKind.NOTE else ""))
    _attachments(text, message)
    _location(text, meta.get("location"))
    _automation(text, message, meta)
    _fallback(text, meta)
    _edits(text, meta.get("edits"), expanded)
    if message.status == MessageStatus.HELD and not isinstance(meta.get("automation"), dict):
        text.append("\n" + t("ui.thread.held_hint"), style="dim")
    if message.status in PROBLEM_STATUSES:
        reason = message.error_message or message.error_code or t("ui.thread.no_reason")
        text.append("\n")
        text.append(t("ui.thread.problem", status=status_word(message.status)) + " ", style="bold")
        text.append_text(inert(reason, single_line=True))
        text.append(" " + t("ui.thread.resend_hint"), style="dim")
    return text


def _withdrawn(message: Message, tz: str | None) -> Text:
    """A message withdrawn before it went out (a reminder of an appointment moved or cancelled):
    the prospect never saw it, so it is folded to its header and first line, dimmed."""
    text = _header(message, tz)
    text.stylize("dim")
    text.append("\n")
    text.append_text(inert(message.subject or message.content, "dim", single_line=True))
    text.append("\n" + t("ui.thread.withdrawn_hint"), style="dim")
    return text


def _without_title(content: str | None, subject: str | None) -> str:
    """An e-mail's text without its first line when that line only repeats the subject (a
    layout's heading), so the thread does not show the subject twice."""
    content = content or ""
    if not subject:
        return content
    first, _, rest = content.lstrip().partition("\n")
    if " ".join(first.split()) != " ".join(subject.split()):
        return content
    return rest.lstrip("\n")


def _automation(text: Text, message: Message, meta: dict[str, Any]) -> None:
    """Why the automation policy held this message, or why Sara left an inbound one alone."""
    held = meta.get("automation")
    if isinstance(held, dict) and message.status == MessageStatus.HELD:
        reason = str(held.get("reason", ""))
        text.append("\n" + t(f"automation.reason_{reason}") + " (Ctrl+R)", style="dim")
    automated = meta.get("automated")
    if isinstance(automated, str) and message.direction == Direction.INBOUND:
        why = t(f"automation.why_{automated}")
        text.append("\n" + t("automation.inbound_automated", why=why), style="dim")


#: Attempts the thread explains: refused when sent, or reported undelivered afterwards (an
#: e-mail's bounce, an SMS the carrier could not deliver) — the reason a fallback was taken.
_FAILED_ATTEMPTS = ("permanent", "failed", "delivery_failed")


def _fallback(text: Text, meta: dict[str, Any]) -> None:
    """Why a message went out on another channel than the one chosen: the first channel's
    failure as the provider gave it, then the fallback (from the outbox's attempts)."""
    attempts = meta.get("attempts")
    if not meta.get("fallback_attempted") or not isinstance(attempts, list):
        return
    for attempt in attempts:
        if not isinstance(attempt, dict):
            continue
        outcome = attempt.get("outcome")
        if outcome in _FAILED_ATTEMPTS:
            error = str(attempt.get("error") or attempt.get("code") or t("ui.thread.no_reason"))
            channel = channel_name(attempt.get("channel"))
            text.append("\n↳ ", style="dim")
            failed = t("orchestrator.attempt.failed", channel=channel, error=error)
            text.append_text(inert(failed, "dim", single_line=True))
        elif outcome == "fallback":
            moved = t(
                "orchestrator.attempt.fallback",
                from_channel=channel_name(attempt.get("origin")),
                to_channel=channel_name(attempt.get("channel")),
            )
            text.append("\n↳ " + moved, style="dim")


def _edits(text: Text, edits: Any, expanded: bool) -> None:
    """ "(edited)", and when the item is expanded the previous texts, oldest first."""
    if not isinstance(edits, list) or not edits:
        return
    text.append("\n" + t("ui.thread.edited", count=len(edits)), style="dim")
    if not expanded:
        return
    for edit in edits:
        if isinstance(edit, dict):
            text.append("\n  " + t("ui.thread.previous_text") + " ", style="dim")
            text.append_text(inert(str(edit.get("text", "")), "strike"))


def _header(message: Message, tz: str | None) -> Text:
    arrow = "←" if message.direction == Direction.INBOUND else "→"
    sender = t(f"common.sender.{message.sender_type}")
    if message.sender_type == SenderType.AGENT and message.sender_name:
        sender = one_line(message.sender_name, 40)
    parts = [channel_name(message.channel), when(shown_time(message), tz)]
    planned = planned_time(message)
    if planned is not None:  # a reminder queued at booking goes out later: say when
        parts[1] = t("ui.thread.planned_for", when=when(planned, tz))
    if message.kind == MessageKind.NOTE:
        return Text(f"✎ {t('ui.thread.note')} · {sender} · {parts[1]}", style="bold")
    if message.direction == Direction.OUTBOUND or message.status != MessageStatus.RECEIVED:
        parts.append(status_word(message.status))
    return Text(f"{arrow} {sender} · " + " · ".join(parts), style="bold")


def shown_time(message: Message) -> datetime:
    """When the thread says a message happened: an outgoing one once sent, when it went out (a
    reminder queued at booking is sent the next day), else when it was written or received."""
    if message.direction == Direction.OUTBOUND and message.sent_at is not None:
        return message.sent_at
    return message.created_at


def planned_time(message: Message) -> datetime | None:
    """When a message still waiting (scheduled, or held by quiet hours) is due to go out."""
    if message.status not in (MessageStatus.SCHEDULED, MessageStatus.HELD):
        return None
    raw = (message.metadata or {}).get("scheduled_for")
    try:
        return datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def _repeats_summary(message: Message, meta: dict[str, Any]) -> bool:
    """A call whose text is its summary (as VAPI reports it), already shown as the summary."""
    summary = meta.get("summary")
    return (
        message.kind == MessageKind.CALL
        and isinstance(summary, str)
        and summary.strip() == message.content.strip()
    )


def _call(text: Text, meta: dict[str, Any], expanded: bool, message: Message) -> None:
    seconds = meta.get("duration_seconds", meta.get("duration"))
    if isinstance(seconds, int | float):
        minutes, rest = divmod(int(seconds), 60)
        text.append(t("ui.thread.call_duration", minutes=minutes, seconds=rest) + "\n")
    if meta.get("summary"):
        text.append(t("ui.thread.call_summary") + " ", style="bold")
        text.append_text(inert(meta["summary"]))
        text.append("\n")
    transcript = meta.get("transcript")
    if transcript:
        if expanded:
            text.append(t("ui.thread.transcript") + "\n", style="bold")
            lines = transcript if isinstance(transcript, str) else "\n".join(map(str, transcript))
            for line in lines.splitlines():
                _transcript_line(text, line, message)
        else:
            text.append(t("ui.thread.transcript_hint") + "\n", style="dim")


#: The speakers' words in a provider's transcript (VAPI: "AI" is the assistant, "User" the
#: person on the line, a prospect whether the call came in or went out).
_ROLES = {"ai": "sara", "assistant": "sara", "bot": "sara", "user": "prospect"}
_ROLES |= {"customer": "prospect", "agent": "agent"}
_SPEAKER = re.compile(r"^\s*(AI|Assistant|Bot|User|Customer|Agent)\s*:\s?(.*)$", re.IGNORECASE)


def _transcript_line(text: Text, line: str, message: Message) -> None:
    """One line of a call's transcript, its speaker named in the agent's words."""
    found = _SPEAKER.match(line)
    if found is None:  # already a name ("Sara: …"), or a line without a speaker
        text.append_text(inert(line, single_line=True))
        text.append("\n")
        return
    role = _ROLES[found.group(1).lower()]
    if role == "agent" and message.sender_type == SenderType.AGENT and message.sender_name:
        who = one_line(message.sender_name, 40)
    else:
        who = t(f"common.sender.{role}")
    text.append(t("ui.thread.speaker", who=who) + " ", style="bold")
    text.append_text(inert(found.group(2), single_line=True))
    text.append("\n")


def _attachments(text: Text, message: Message) -> None:
    for item in listed(message):
        text.append("\n" + t("ui.thread.attachment") + " ", style="bold")
        text.append_text(inert(item.filename, single_line=True))
        text.append(" · " + attachment_kind(item.content_type))
        if item.size is not None:  # a provider's file: known once downloaded
            text.append(", " + file_size(item.size))
        if item.content_type.startswith("image/"):
            text.append("\n" + t("attachui.no_preview"), style="dim")


def _location(text: Text, location: Any) -> None:
    if not isinstance(location, dict):
        return
    lat, lon = location.get("latitude"), location.get("longitude")
    text.append("\n" + t("ui.thread.location") + " ", style="bold")
    if isinstance(lat, int | float) and isinstance(lon, int | float):
        text.append(f"{format_number(lat, 5)}, {format_number(lon, 5)}")
    if location.get("address"):
        text.append(" — ")
        text.append_text(inert(location["address"], single_line=True))


def plain(message: Message) -> str:
    """The message's text, cleaned, on one line (for notifications and tests)."""
    return one_line(clean(message.content))
