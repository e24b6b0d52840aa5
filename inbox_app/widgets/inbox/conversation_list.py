"""The inbox list: one row per conversation, loaded one keyset page at a time as it scrolls."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from rich.text import Text
from textual._two_way_dict import TwoWayDict
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from core.domain.enums import Channel, Priority
from core.domain.models import ConversationSummary
from core.i18n import language, t
from inbox_app.render.words import channel_tag, priority_mark, priority_name, relative
from inbox_app.widgets.inbox.one_line_table import OneLineTable
from inbox_app.widgets.inbox.row_cells import RowCells
from inbox_app.widgets.kept_styles import KeptStyles

#: How close to the last loaded row the cursor or the scroll may get before the next page loads.
PREFETCH = 15
#: Left to right; the labels come last, the first to go past the right edge of a narrow screen.
COLUMNS = ("unread", "channel", "name", "when", "preview", "priority", "assignee", "labels")
WIDTHS = {
    "unread": 1,
    "name": 17,
    "priority": 8,
    "labels": 20,
    "assignee": 14,
}
#: Screens narrower than this show the priority, assignee and labels at the preview's start.
NARROW_BELOW = 100
#: The preview takes the room the other columns leave, within these bounds.
PREVIEW_WIDTHS = (24, 60)
#: The inbox's sidebar beside the list, and the list's scroll bar (see inbox.tcss).
_BESIDE = {"wide": 22 + 2, "narrow": 18 + 2}


#: Ages the "when" column must show whole: minutes, hours, days, weeks, months, years.
_AGES = (
    *(timedelta(minutes=m) for m in (9, 59)),
    *(timedelta(hours=h) for h in (9, 23)),
    *(timedelta(days=d) for d in (6, 27, 300, 3000)),
)


def column_width(name: str) -> int:
    """The column's width, in the current language.

    The channel, "when" and priority columns fit their longest text whole ("APPEL", "il y a
    59 min", "!!Urgent"), so that no language sees them cut.
    """
    return _column_width(name, language())


@functools.cache
def _column_width(name: str, lang: str) -> int:
    match name:
        case "channel":
            words = [channel_tag(c) for c in Channel]
        case "when":
            now = datetime(2026, 1, 1, tzinfo=UTC)
            words = [relative(now - age, now) for age in _AGES]
        case "priority":
            words = [f"{priority_mark(p)}{priority_name(p)}" for p in Priority]
        case _:
            return WIDTHS[name]
    return max(len(t(f"ui.column.{name}")), *(len(w) for w in words))


def preview_width(screen_width: int) -> int:
    """The preview column's width on a screen ``screen_width`` wide: what the others leave."""
    beside = _BESIDE["narrow" if screen_width < 100 else "wide"]
    others = sum(column_width(name) + 2 for name in COLUMNS if name != "preview")
    low, high = PREVIEW_WIDTHS
    return max(low, min(high, screen_width - beside - others - 2))


class ConversationList(KeptStyles, OneLineTable):
    """Conversations of the current filter; asks for more rows when the end comes near."""

    BINDINGS = [
        Binding(
            "j", "cursor_down", t("ui.key.down"), show=False, id="down", tooltip=t("ui.tip.down")
        ),
        Binding("k", "cursor_up", t("ui.key.up"), show=False, id="up", tooltip=t("ui.tip.up")),
    ]

    class Opened(Message):
        """Enter (or a click) on a conversation."""

        def __init__(self, conversation_id: int) -> None:
            super().__init__()
            self.conversation_id = conversation_id

    class NeedMore(Message):
        """The cursor or the scroll is near the last loaded row."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self.summaries: dict[int, ConversationSummary] = {}
        self.query_text: str | None = None
        #: Conversations tagged for a bulk action (kept while the list reloads).
        self.tagged: set[int] = set()
        #: Each conversation's cells, made once per look and shared between rows.
        self._row_cells = RowCells()
        #: The agency's time zone, for when snoozed conversations wake (the local one if None).
        self.tz: str | None = None
        #: Below 100 columns the last columns are off-screen: the preview starts with them.
        self.narrow = False

    def on_mount(self) -> None:
        self.narrow = self.app.size.width < NARROW_BELOW
        for name in COLUMNS:
            width = preview_width(self.app.size.width) if name == "preview" else column_width(name)
            self.add_column(t(f"ui.column.{name}"), key=name, width=width)

    def reset(self) -> None:
        """Forget every row."""
        self.clear()
        self.summaries.clear()

    def append(self, items: tuple[ConversationSummary, ...], now: datetime) -> None:
        """Add a page of rows."""
        rows = []
        for item in items:
            if item.id in self.summaries:
                continue
            self.summaries[item.id] = item
            rows.append((str(item.id), self._cells(item, now)))
        self.add_one_line_rows(rows)

    def prepare(self, items: tuple[ConversationSummary, ...], now: datetime) -> None:
        """Make the cells of rows about to be shown (a page read ahead), so that showing them
        only adds them."""
        for item in items:
            self._cells(item, now)

    def update_item(self, item: ConversationSummary, now: datetime) -> None:
        """Redraw one row in place."""
        self.summaries[item.id] = item
        for name, cell in zip(COLUMNS, self._cells(item, now), strict=True):
            self.update_cell(str(item.id), name, cell)

    def toggle_tag(self, conversation_id: int, now: datetime) -> None:
        """Tag or untag one conversation, and redraw its row."""
        self.tagged ^= {conversation_id}
        if conversation_id in self.summaries:
            self.update_item(self.summaries[conversation_id], now)

    def put_in_order(self, order: list[int]) -> None:
        """Show the loaded rows in ``order`` (ids), the highlighted conversation still highlighted
        and the scroll unmoved; rows are moved, not rebuilt."""
        if order == self.ids():
            return
        current = self.current_id()
        rank = {str(cid): i for i, cid in enumerate(order)}
        keys = sorted(self._data, key=lambda key: rank.get(key.value, len(rank)))
        # what DataTable.sort does, by row key: its key function is given a row's cells, and
        # rows share cells (``row_cells.py``)
        self._row_locations = TwoWayDict({key: index for index, key in enumerate(keys)})
        self._update_count += 1
        self.refresh()
        if current is not None:
            self.move_cursor(row=self.get_row_index(str(current)), scroll=False)

    def drop(self, conversation_id: int) -> None:
        """Remove a row (the conversation left the current filter)."""
        if self.summaries.pop(conversation_id, None) is not None:
            self.remove_row(str(conversation_id))

    def current_id(self) -> int | None:
        """The highlighted conversation."""
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return int(key.value) if key.value else None

    def ids(self) -> list[int]:
        """Loaded conversation ids in display order."""
        return [int(row.key.value) for row in self.ordered_rows if row.key.value]

    def draw_ahead(
        self, items: tuple[ConversationSummary, ...], now: datetime, cursor_row: int
    ) -> Iterator[int]:
        """Draw the lines the rows of ``items`` will have once shown from the top, focused,
        the cursor on ``cursor_row`` (``OneLineTable.draw_rows_ahead``); yields each row drawn."""
        rows = ((RowKey(str(item.id)), tuple(self._cells(item, now))) for item in items)
        return self.draw_rows_ahead(rows, cursor_row)

    def _cells(self, item: ConversationSummary, now: datetime) -> list[Text]:
        """The row's cells (``row_cells.py``): those made before if nothing they show changed."""
        tagged = item.id in self.tagged
        return self._row_cells.cells(item, now, self.query_text, tagged, self.narrow, self.tz)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value:
            self.post_message(self.Opened(int(event.row_key.value)))

    def near_end(self) -> bool:
        """Whether the cursor or the scroll is within ``PREFETCH`` rows of the last one.

        The scroll counts once the list was scrolled: a screen taller than a page does not load
        the next one before the agent moves (the cursor gets there soon enough).
        """
        if not self.row_count:
            return False
        cursor_near = self.cursor_row >= self.row_count - PREFETCH
        scroll_near = self.scroll_y > 0 and (
            self.scroll_y + self.size.height >= self.row_count - PREFETCH
        )
        return cursor_near or scroll_near

    def watch_cursor_coordinate(self, old: object, new: object) -> None:
        super().watch_cursor_coordinate(old, new)  # type: ignore[arg-type]
        # DataTable sets the cursor again for every row it adds: a page of 50 rows would post
        # 50 messages, each going up to the app, for a cursor that did not move
        if old != new and self.near_end():
            self.post_message(self.NeedMore())

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if self.near_end():
            self.post_message(self.NeedMore())
