"""The inbox list: one row per conversation, loaded one keyset page at a time as it scrolls."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._segment_tools import line_crop
from textual._two_way_dict import TwoWayDict
from textual.binding import Binding
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.geometry import Size
from textual.message import Message
from textual.strip import Strip
from textual.widgets import DataTable

from core.domain.enums import Channel, Priority
from core.domain.models import ConversationSummary
from core.i18n import language, t
from inbox_app.render.cells import fits_one_line, one_line_cell
from inbox_app.render.words import channel_tag, priority_mark, priority_name, relative
from inbox_app.widgets.inbox.row_cells import RowCells

#: How close to the last loaded row the cursor or the scroll may get before the next page loads.
PREFETCH = 15
#: Rendered cells kept across updates of the list (about twenty pages of 50 rows, 8 cells each).
DRAWN_CELLS = 8_000
#: Drawn lines of rows kept across updates of the list (about ten screens of rows in each look).
DRAWN_ROWS = 2_000
#: Where the cursor (or the mouse) is said to be when drawing a row it is not on: no row's index.
_ELSEWHERE = Coordinate(-2, 0)
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


class ConversationList(DataTable[Text]):
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
        #: Rendered cells by cell object and place, across the table's updates (DataTable's own
        #: cache is emptied by every change): (cell, lines) under ``id(cell)`` and the styles.
        self._drawn: LRUCache[tuple[object, ...], tuple[Text, list[list[Segment]]]] = LRUCache(
            DRAWN_CELLS
        )
        #: Each row's drawn line, by row and look, with the cells it was drawn from: a row drawn
        #: before is not drawn again when the list changes around it (``render_line``).
        self._lines: LRUCache[tuple[object, ...], tuple[tuple[Text, ...], Strip]] = LRUCache(
            DRAWN_ROWS
        )
        #: The mouse's meta data of each cell, by place (row and column indexes).
        self._metas: dict[tuple[int, int], Style] = {}
        #: The style of the blank past the last column, by row and look.
        self._extends: dict[tuple[object, ...], Style] = {}
        self._drawing_console: Console | None = None
        #: The list's base style and its columns' widths, read once per repaint rather than once
        #: per line.
        self._base_style = Style()
        self._widths: tuple[int, ...] = ()
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
        for item in items:
            if item.id in self.summaries:
                continue
            self.summaries[item.id] = item
            self.add_row(*self._cells(item, now), key=str(item.id))

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

    def _cells(self, item: ConversationSummary, now: datetime) -> list[Text]:
        """The row's cells (``row_cells.py``): those made before if nothing they show changed."""
        tagged = item.id in self.tagged
        return self._row_cells.cells(item, now, self.query_text, tagged, self.narrow, self.tz)

    def render_lines(self, crop: Any) -> list[Strip]:
        self._base_style = self.rich_style
        self._widths = tuple(column.get_render_width(self) for column in self.ordered_columns)
        self._drawing_console = self.app.console
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        """One line of the list: a body row's line is drawn once for its cells, its place and
        its look (cursor, hover, focus), and reused until one of them changes.

        DataTable keys its drawn lines by a count of every change to the table, so a new page,
        a moved row or a patched cell draws every line again, each through several layers of
        caches; a row of this list is one line of eight fixed-width cells, drawn here directly
        (the header, and any table this does not fit, go through DataTable's own path).
        """
        header = self.header_height if self.show_header else 0
        if (
            y < header
            or self.cursor_type != "row"
            or self.fixed_rows
            or self.fixed_columns
            or self._labelled_row_exists
        ):
            return super().render_line(y)
        width = self.size.width
        scroll_x, scroll_y = self.scroll_offset
        row_index = y - header + scroll_y
        if row_index >= len(self._y_offsets) or self._y_offsets[row_index][1]:
            return super().render_line(y)  # past the rows, or a row taller than one line
        row_key = self._y_offsets[row_index][0]
        row = self._data.get(row_key)
        if row is None or self._row_locations.get(row_key) != row_index:
            return super().render_line(y)
        cells = tuple(row.values())
        show_cursor, show_hover = self.show_cursor, self._show_hover_cursor
        cursor = show_cursor and self.cursor_coordinate.row == row_index
        hover = show_cursor and show_hover and self.hover_coordinate.row == row_index
        base_style = self._base_style
        key = (
            row_key,
            row_index,
            cursor,
            hover,
            base_style,
            width,
            self._widths,
            scroll_x,
            self._pseudo_class_state,
            self._looks(cursor, hover),
        )
        drawn = self._lines.get(key)
        if (
            drawn is not None
            and len(drawn[0]) == len(cells)
            and all(a is b for a, b in zip(drawn[0], cells, strict=True))
        ):
            return drawn[1]
        strip = self._draw_row(row_index, cells, cursor, hover, base_style, width, scroll_x)
        self._lines[key] = (cells, strip)
        return strip

    def _looks(self, cursor: bool, hover: bool) -> tuple[Style, ...]:
        """The styles a body row's line is drawn with beside its base style (the cursor's and
        the mouse's look, which the stylesheet and the focus decide): part of a drawn line's key,
        so that a change of focus or theme draws the lines anew, and a focus that comes back
        finds the lines it had (DataTable forgets every drawing on each style update)."""
        show_cursor, show_hover = self.show_cursor, self._show_hover_cursor
        cell = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            show_cursor,
            show_hover,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        extend = self._get_styles_to_render_cell(
            False, False, False, hover, cursor, show_cursor, show_hover, False, False
        )
        return (*cell, *extend)

    def _draw_row(
        self,
        row_index: int,
        cells: tuple[Text, ...],
        cursor: bool,
        hover: bool,
        base_style: Style,
        width: int,
        scroll_x: int,
    ) -> Strip:
        """The line DataTable draws for a one-line row in row-cursor mode, segment for
        segment (``tests/tui/test_list_rendering.py`` compares them)."""
        component, post = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        segments: list[Segment] = []
        simplified = True  # every cell's segments simplified (the one-line path's are)
        table_width = 0
        for column_index, (column, cell) in enumerate(
            zip(self.ordered_columns, cells, strict=True)
        ):
            column_width = column.get_render_width(self)
            table_width += column_width
            if fits_one_line(cell):
                lines = self._cell_lines(
                    cell, row_index, column_index, base_style, column_width, component, post
                )
            else:
                simplified = False
                lines = self._render_cell(
                    row_index, column_index, base_style, column_width, cursor, hover
                )
            segments.extend(lines[0])
        fill = max(0, width - table_width)
        segments.append(Segment(" " * fill, self._extension(row_index, base_style, cursor, hover)))
        if simplified and not scroll_x and table_width <= width:
            # exactly the width, nothing to cut; and no two neighbouring cells' segments can
            # merge (each carries its own place in its meta): simplified already
            return Strip(segments, width)
        cropped = line_crop(segments, scroll_x, scroll_x + width, width)
        return Strip(cropped).adjust_cell_length(width, base_style).simplify()

    def _extension(self, row_index: int, base_style: Style, cursor: bool, hover: bool) -> Style:
        """The style of the blank that extends a row past its last column."""
        extend, _ = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            False,
            False,
        )
        key = (row_index, base_style, extend)
        style = self._extends.get(key)
        if style is None:
            if len(self._extends) >= DRAWN_CELLS:
                self._extends.clear()
            meta = Style.from_meta({"row": row_index, "column": 0, "out_of_bounds": True})
            style = self._extends[key] = base_style + extend + meta
        return style

    def measure_now(self) -> None:
        """Work out the list's size after rows came or went now, as DataTable would when next
        idle: its repaint (and any layout the new size needs) can then go in the same frame
        as the rest of the screen's change."""
        if self._require_update_dimensions:
            self._require_update_dimensions = False
            new_rows = self._new_rows.copy()
            self._new_rows.clear()
            self._update_dimensions(new_rows)

    def _update_dimensions(self, new_rows: object) -> None:
        """The scrollable size once rows came or went.

        DataTable measures every new cell to fit its columns; every column here has a fixed
        width and every row one line, so only the size is worked out (the general path is
        kept for anything else)."""
        columns = self.columns.values()
        if any(c.auto_width for c in columns) or any(r.height != 1 for r in self.rows.values()):
            super()._update_dimensions(new_rows)  # type: ignore[arg-type]
            return
        width = sum(c.get_render_width(self) for c in columns) + self._row_label_column_width
        header = self.header_height if self.show_header else 0
        self.virtual_size = Size(width, self._total_row_height + header)

    def _render_line_in_row(
        self,
        row_key: Any,
        line_no: int,
        base_style: Style,
        cursor_location: Coordinate,
        hover_location: Coordinate,
    ) -> tuple[list[list[Segment]], list[list[Segment]]]:
        """One row's line. DataTable keys its drawing of a row by where the cursor is, so a
        move redraws every row; a row the cursor and the mouse are not on looks the same
        wherever they are, so it is drawn (and cached) as if they were nowhere."""
        if self.cursor_type == "row":
            found = self._row_locations.get(row_key)
            row_index = -1 if found is None else found  # -1: the header, as DataTable has it
            if cursor_location.row != row_index:
                cursor_location = _ELSEWHERE
            if hover_location.row != row_index:
                hover_location = _ELSEWHERE
        return super()._render_line_in_row(
            row_key, line_no, base_style, cursor_location, hover_location
        )

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        """A body cell through the one-line path (``render/cells.py``), cached as DataTable
        caches its cells; the header and anything else through DataTable's own path."""
        if row_index < 0 or column_index < 0 or row_index < self.fixed_rows:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        key = (
            row_key,
            column_key,
            base_style,
            cursor,
            hover,
            self._show_hover_cursor,
            self._update_count,
            self._pseudo_class_state,
        )
        lines = self._cell_render_cache.get(key)
        if lines is not None:
            return lines
        cell = self._get_row_renderables(row_index).cells[column_index]
        if self.rows[row_key].height != 1 or not fits_one_line(cell):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        component, post = self._get_styles_to_render_cell(
            False,
            False,
            column_index < self.fixed_columns,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        lines = self._cell_lines(cell, row_index, column_index, base_style, width, component, post)
        self._cell_render_cache[key] = lines
        return lines

    def _cell_lines(
        self,
        cell: Text,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        component: Style,
        post: Style,
    ) -> list[list[Segment]]:
        """A one-line body cell (``render/cells.py``), simplified, kept by cell, place and look
        (``component`` and ``post``: the cursor's or the mouse's styles, if on it)."""
        place = (id(cell), row_index, column_index, width, base_style, component, post)
        drawn = self._drawn.get(place)
        if drawn is not None and drawn[0] is cell:
            return drawn[1]
        meta = self._metas.get((row_index, column_index))
        if meta is None:
            if len(self._metas) >= DRAWN_CELLS:
                self._metas.clear()
            meta = Style.from_meta({"row": row_index, "column": column_index})
            self._metas[row_index, column_index] = meta
        pre = base_style + meta + component
        console = self._drawing_console or self.app.console
        line = one_line_cell(console, cell, width, self.cell_padding, pre, post)[0]
        lines = [list(Segment.simplify(line))]
        self._drawn[place] = (cell, lines)  # the cell kept with it: its id is not reused
        return lines

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
