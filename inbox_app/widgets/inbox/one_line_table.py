"""A DataTable whose body rows are one line of fixed-width text cells, drawn directly and kept.

DataTable keys its drawn lines by a count of every change to the table, so a new page, a moved
row or a patched cell draws every line again, each through several layers of caches. Here a
body row's line is drawn straight from its cells (``render/cells.py``) and kept by row, place
and look (cursor, hover, focus, theme), and each cell's drawing by cell object and place: a row
drawn before is not drawn again when the table changes around it, and a cell shared by many rows
(``row_cells.py``) is drawn once per place. The header, and any table this does not fit (fixed
rows or columns, labelled or taller rows), go through DataTable's own path.
``tests/tui/test_list_rendering.py`` compares the lines with DataTable's, segment for segment.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._segment_tools import line_crop
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.filter import LineFilter
from textual.geometry import Size
from textual.scrollbar import ScrollBar
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import DataTable
from textual.widgets.data_table import DuplicateKey, Row, RowKey

from inbox_app.render.cells import fits_one_line, one_line_cell
from inbox_app.render.kept_lines import KeptScrollBar, KeptStylesCache, Styling
from inbox_app.widgets.caches import UnlinkedLRUCache, unlinked

#: Rendered cells kept across updates of the list (about twenty pages of 50 rows, 8 cells each).
DRAWN_CELLS = 8_000
#: Drawn lines of rows kept across updates of the list (about ten screens of rows in each look).
DRAWN_ROWS = 2_000
#: Looks told apart at once (focus, cursor, hover, theme, width…); past this they are numbered
#: again from where they were (a number is never given to two looks).
LOOKS = 1_000
#: Where the cursor (or the mouse) is said to be when drawing a row it is not on: no row's index.
_ELSEWHERE = Coordinate(-2, 0)


class _Look(NamedTuple):
    """How one body row is drawn in a repaint: on the cursor's row, the mouse's, or neither."""

    line: int  # a number for everything a line's drawing depends on beside its cells and place
    cell: int  # the same for a cell's drawing (base style, component and post styles)
    cursor: bool
    hover: bool
    component: Style
    post: Style


class _Repaint:
    """What every body line of one repaint is drawn with, read once (reading the table's
    reactive attributes, styles and offsets for each of 46 lines was a third of drawing them)."""

    def __init__(self, table: OneLineTable) -> None:
        self.table = table
        self.one_line = not (
            table.cursor_type != "row"
            or table.fixed_rows
            or table.fixed_columns
            or table._labelled_row_exists
        )
        self.header = table.header_height if table.show_header else 0
        self.width = table.size.width
        self.scroll_x, self.scroll_y = table.scroll_offset
        self.offsets = table._y_offsets
        self.base_style = table._base_style
        self.widths = tuple(column.get_render_width(table) for column in table.ordered_columns)
        self.show_cursor = table.show_cursor
        self.show_hover = table._show_hover_cursor
        self.cursor_row = table.cursor_coordinate.row if self.show_cursor else None
        hovering = self.show_cursor and self.show_hover
        self.hover_row = table.hover_coordinate.row if hovering else None
        self._looks: dict[tuple[bool, bool], _Look] = {}

    def look(self, row_index: int) -> _Look:
        """How the row at ``row_index`` is drawn."""
        where = (row_index == self.cursor_row, row_index == self.hover_row)
        look = self._looks.get(where)
        if look is None:
            look = self._looks[where] = self._read_look(*where)
        return look

    def _read_look(self, cursor: bool, hover: bool) -> _Look:
        table = self.table
        component, post = table._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self.show_hover,
            table.cursor_foreground_priority == "css",
            table.cursor_background_priority == "css",
        )
        extend, _ = table._get_styles_to_render_cell(
            False, False, False, hover, cursor, self.show_cursor, self.show_hover, False, False
        )
        line = (
            self.base_style,
            self.width,
            self.widths,
            self.scroll_x,
            table._pseudo_class_state,
            component,
            post,
            extend,
        )
        cell = (self.base_style, component, post)
        look = _Look(table._look_id(line), table._look_id(cell), cursor, hover, component, post)
        if getattr(table._pseudo_class_state, "focus", False):
            table._focused_looks[cursor, hover] = (look, self)
        return look


class OneLineTable(DataTable[Text]):
    """A DataTable of one-line text rows that draws each row once per place and look."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # DataTable empties these on every change: their rings are freed then, not collected
        unlinked(
            self._row_render_cache,
            self._cell_render_cache,
            self._row_renderable_cache,
            self._line_cache,
            self._offset_cache,
            self._ordered_row_cache,
        )
        #: Rendered cells by cell object, place and look, across the table's updates
        #: (DataTable's own cache is emptied by every change): (cell, segments).
        self._drawn: LRUCache[tuple[int, ...], tuple[Text, list[Segment]]] = UnlinkedLRUCache(
            DRAWN_CELLS
        )
        #: Each row's drawn line, by row, place and look, with the cells it was drawn from.
        self._lines: LRUCache[tuple[object, ...], tuple[tuple[Text, ...], Strip]] = (
            UnlinkedLRUCache(DRAWN_ROWS)
        )
        #: The mouse's meta data of each cell, by place (row and column indexes).
        self._metas: dict[tuple[int, int], Style] = {}
        #: The style of the blank past the last column, by row and look.
        self._extends: dict[tuple[int, int], Style] = {}
        #: A number for each look (``_Look``): the caches' keys hold numbers, not styles.
        self._look_ids: dict[tuple[object, ...], int] = {}
        self._look_numbers = itertools.count()
        #: The repaint being drawn (None between repaints: a line drawn alone reads its own).
        self._repaint: _Repaint | None = None
        self._drawing_console: Console | None = None
        #: The table's base style, read once per repaint rather than once per line.
        self._base_style = Style()
        #: The looks its rows had when last drawn focused, with that repaint: rows about to be
        #: shown are drawn ahead in them (``draw_rows_ahead``).
        self._focused_looks: dict[tuple[bool, bool], tuple[_Look, _Repaint]] = {}
        #: The header's drawn line by look, with the column labels it shows. DataTable keys it
        #: by the count of the table's changes, so every new page drew it again.
        self._header_lines: LRUCache[tuple[object, ...], tuple[tuple[object, ...], Strip]] = (
            LRUCache(LOOKS)
        )
        #: Each styled line kept by its drawn line and look: a row drawn before (or ahead) is
        #: not styled and filtered again when the table repaints (``render/kept_lines.py``).
        self._styles_cache: KeptStylesCache = KeptStylesCache(DRAWN_ROWS)
        #: How the body's lines were styled when last painted focused, and the app's line
        #: filters then: rows drawn ahead are styled and filtered in it too.
        self._focused_styling: tuple[tuple[Styling, Any], tuple[LineFilter, ...]] | None = None

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        """The vertical scroll bar, its lines kept by look (``render/kept_lines.py``): it was
        repainted on each focus change of the table."""
        if self._vertical_scrollbar is None:
            bar = KeptScrollBar(
                vertical=True, name="vertical", thickness=self.scrollbar_size_vertical
            )
            self._vertical_scrollbar = bar
            bar.display = False
            self.app._start_widget(self, bar)
        return self._vertical_scrollbar

    @property
    def horizontal_scrollbar(self) -> ScrollBar:
        """The horizontal scroll bar, its lines kept by look."""
        if self._horizontal_scrollbar is None:
            bar = KeptScrollBar(
                vertical=False, name="horizontal", thickness=self.scrollbar_size_horizontal
            )
            self._horizontal_scrollbar = bar
            bar.display = False
            self.app._start_widget(self, bar)
        return self._horizontal_scrollbar

    def _set_hover_cursor(self, active: bool) -> None:
        """Show or hide the mouse's hover cursor, repainting its row only when that changes:
        DataTable hides it (and repaints the row) on every key, Enter's selection included,
        which costs the inbox a frame just before the conversation screen replaces it."""
        if active != self._show_hover_cursor:
            super()._set_hover_cursor(active)

    def add_one_line_rows(self, rows: Iterable[tuple[str, Sequence[Text]]]) -> None:
        """Add one-line rows (key and cells) as ``add_row`` adds them one by one, with the
        table's bookkeeping done once for all of them: ``add_row`` checks the cursor again,
        counts a change and prompts the app for each row, most of adding a page of 50."""
        columns = self.ordered_columns
        was_empty = not self.row_count
        added = 0
        for key, cells in rows:
            row_key = RowKey(key)
            if row_key in self._row_locations:
                raise DuplicateKey(f"The row key {row_key!r} already exists.")
            if len(cells) > len(columns):
                raise ValueError("More values provided than there are columns.")
            self._row_locations[row_key] = self.row_count
            self._data[row_key] = {c.key: cell for c, cell in itertools.zip_longest(columns, cells)}
            self.rows[row_key] = Row(row_key, 1)
            self._new_rows.add(row_key)
            added += 1
        if not added:
            return
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        if was_empty and self.columns and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()  # a cursor now has a row to be on: as add_row does
        self._update_count += 1
        self.check_idle()

    def _look_id(self, look: tuple[object, ...]) -> int:
        number = self._look_ids.get(look)
        if number is None:
            if len(self._look_ids) >= LOOKS:
                self._look_ids.clear()
            number = self._look_ids[look] = next(self._look_numbers)
        return number

    def render_lines(self, crop: Any) -> list[Strip]:
        self._base_style = self.rich_style
        self._drawing_console = self.app.console
        self._repaint = _Repaint(self)
        styles_cache = self._styles_cache
        styles_cache.last = None
        try:
            return super().render_lines(crop)
        finally:
            self._repaint = None
            if styles_cache.last is not None and self.has_focus:
                # the look rows drawn ahead are styled in (``draw_rows_ahead``)
                self._focused_styling = (styles_cache.last, tuple(self.get_line_filters()))

    def render_line(self, y: int) -> Strip:
        """One line: a body row's line is drawn once for its cells, its place and its look,
        and reused until one of them changes."""
        repaint = self._repaint or _Repaint(self)
        if not repaint.one_line:
            return super().render_line(y)
        if y < repaint.header:
            return self._header_line(y, repaint)
        row_index = y - repaint.header + repaint.scroll_y
        offsets = repaint.offsets
        if row_index >= len(offsets) or offsets[row_index][1]:
            return super().render_line(y)  # past the rows, or a row taller than one line
        row_key = offsets[row_index][0]
        row = self._data.get(row_key)
        if row is None or self._row_locations.get(row_key) != row_index:
            return super().render_line(y)
        cells = tuple(row.values())
        look = repaint.look(row_index)
        key = (row_key, row_index, look.line)
        drawn = self._lines.get(key)
        if (
            drawn is not None
            and len(drawn[0]) == len(cells)
            and all(a is b for a, b in zip(drawn[0], cells, strict=True))
        ):
            return drawn[1]
        strip = self._draw_row(row_index, cells, look, repaint)
        self._lines[key] = (cells, strip)
        return strip

    def _header_line(self, y: int, repaint: _Repaint) -> Strip:
        """A line of the header, drawn by DataTable once per look and kept (with the mouse
        over the header, drawn each time)."""
        if repaint.hover_row == -1:
            return super().render_line(y)
        look = (
            y,
            repaint.base_style,
            repaint.width,
            repaint.widths,
            repaint.scroll_x,
            self._pseudo_class_state,
            repaint.show_cursor,
            self.get_component_styles("datatable--header").rich_style,
        )
        labels = tuple(column.label for column in self.ordered_columns)
        kept = self._header_lines.get(look)
        if (
            kept is not None
            and len(kept[0]) == len(labels)
            and all(a is b for a, b in zip(kept[0], labels, strict=True))
        ):
            return kept[1]
        strip = super().render_line(y)
        self._header_lines[look] = (labels, strip)
        return strip

    def draw_rows_ahead(
        self, rows: Iterable[tuple[RowKey, tuple[Text, ...]]], cursor_row: int
    ) -> Iterator[int]:
        """Draw the lines ``rows`` (keys and cells, from the top) will have once shown, the
        table focused and unscrolled, the cursor on ``cursor_row``: showing them then finds
        them drawn. Yields the index of each row drawn (the caller may let other work run
        between them). Nothing is drawn before the table was drawn focused once (that look is
        not known yet), nor when the cursor's row would scroll the table."""
        focused = self._focused_looks.get((False, False))
        if focused is None:
            return
        shown = self.scrollable_content_region.height - focused[1].header
        if cursor_row >= shown:
            return
        for row_index, (row_key, cells) in enumerate(itertools.islice(rows, shown)):
            found = self._focused_looks.get((row_index == cursor_row, False))
            if found is None:
                continue
            look, repaint = found  # drawn as in that repaint: the look's number says so
            if not repaint.one_line or repaint.scroll_x or len(cells) != len(repaint.widths):
                continue
            if not all(fits_one_line(cell) for cell in cells):
                continue
            key = (row_key, row_index, look.line)
            drawn = self._lines.get(key)
            if drawn is not None and all(a is b for a, b in zip(drawn[0], cells, strict=True)):
                strip = drawn[1]
            else:
                strip = self._draw_row(row_index, cells, look, repaint)
                self._lines[key] = (cells, strip)
            styling = self._focused_styling
            if styling is not None:  # and styled as the paint will (kept: at most a look-up)
                self._styles_cache.style_ahead(strip, *styling)
            if drawn is None or drawn[1] is not strip:
                yield row_index

    def _draw_row(
        self, row_index: int, cells: tuple[Text, ...], look: _Look, repaint: _Repaint
    ) -> Strip:
        """The line DataTable draws for a one-line row in row-cursor mode, segment for
        segment (``tests/tui/test_list_rendering.py`` compares them)."""
        base_style, width, scroll_x = repaint.base_style, repaint.width, repaint.scroll_x
        segments: list[Segment] = []
        simplified = True  # every cell's segments simplified (the one-line path's are)
        table_width = 0
        for column_index, (column_width, cell) in enumerate(
            zip(repaint.widths, cells, strict=True)
        ):
            table_width += column_width
            line = self._cell_segments(
                cell,
                row_index,
                column_index,
                column_width,
                base_style,
                look.cell,
                look.component,
                look.post,
            )
            if line is None:
                simplified = False
                line = self._render_cell(
                    row_index, column_index, base_style, column_width, look.cursor, look.hover
                )[0]
            segments.extend(line)
        fill = max(0, width - table_width)
        segments.append(Segment(" " * fill, self._extension(row_index, look, repaint)))
        if simplified and not scroll_x and table_width <= width:
            # exactly the width, nothing to cut; and no two neighbouring cells' segments can
            # merge (each carries its own place in its meta): simplified already
            return Strip(segments, width)
        cropped = line_crop(segments, scroll_x, scroll_x + width, width)
        return Strip(cropped).adjust_cell_length(width, base_style).simplify()

    def _extension(self, row_index: int, look: _Look, repaint: _Repaint) -> Style:
        """The style of the blank that extends a row past its last column."""
        style = self._extends.get((row_index, look.line))
        if style is None:
            if len(self._extends) >= DRAWN_CELLS:
                self._extends.clear()
            extend, _ = self._get_styles_to_render_cell(
                False,
                False,
                False,
                look.hover,
                look.cursor,
                repaint.show_cursor,
                repaint.show_hover,
                False,
                False,
            )
            meta = Style.from_meta({"row": row_index, "column": 0, "out_of_bounds": True})
            style = repaint.base_style + extend + meta
            self._extends[row_index, look.line] = style
        return style

    def _cell_segments(
        self,
        cell: object,
        row_index: int,
        column_index: int,
        width: int,
        base_style: Style,
        look_id: int,
        component: Style,
        post: Style,
    ) -> list[Segment] | None:
        """A one-line body cell's segments (``render/cells.py``), simplified, kept by cell,
        place and look (``look_id``: the number of the base, component and post styles it is
        drawn with); None for a cell that is not one line of text."""
        place = (id(cell), row_index, column_index, width, look_id)
        drawn = self._drawn.get(place)
        if drawn is not None and drawn[0] is cell:
            return drawn[1]
        if not fits_one_line(cell):
            return None
        assert isinstance(cell, Text)
        meta = self._metas.get((row_index, column_index))
        if meta is None:
            if len(self._metas) >= DRAWN_CELLS:
                self._metas.clear()
            meta = Style.from_meta({"row": row_index, "column": column_index})
            self._metas[row_index, column_index] = meta
        pre = base_style + meta + component
        console = self._drawing_console or self.app.console
        line = one_line_cell(console, cell, width, self.cell_padding, pre, post)[0]
        segments = list(Segment.simplify(line))
        self._drawn[place] = (cell, segments)  # the cell kept with it: its id is not reused
        return segments

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> list[list[Segment]]:
        """A body cell through the one-line path, cached as DataTable caches its cells; the
        header and anything else through DataTable's own path."""
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
        segments = None
        if self.rows[row_key].height == 1:
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
            look_id = self._look_id((base_style, component, post))
            segments = self._cell_segments(
                cell, row_index, column_index, width, base_style, look_id, component, post
            )
        if segments is None:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        self._cell_render_cache[key] = lines = [segments]
        return lines

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

    def measure_now(self) -> None:
        """Work out the table's size after rows came or went now, as DataTable would when next
        idle: its repaint (and any layout the new size needs) can then go in the same frame
        as the rest of the screen's change."""
        if self._require_update_dimensions:
            self._require_update_dimensions = False
            new_rows = self._new_rows.copy()
            self._new_rows.clear()
            self._update_dimensions(new_rows)

    def _update_dimensions(self, new_rows: object) -> None:
        """The scrollable size once rows came or went.

        DataTable measures every new cell to fit its columns; when every column has a fixed
        width and every row one line, only the size is worked out (the general path is kept
        for anything else)."""
        columns = self.columns.values()
        if any(c.auto_width for c in columns) or any(r.height != 1 for r in self.rows.values()):
            super()._update_dimensions(new_rows)  # type: ignore[arg-type]
            return
        width = sum(c.get_render_width(self) for c in columns) + self._row_label_column_width
        header = self.header_height if self.show_header else 0
        self._resize_scrollable(Size(width, self._total_row_height + header))

    def _resize_scrollable(self, size: Size) -> None:
        """Set the scrollable size. Setting it lays out the whole screen, and a layout sends
        the scroll bars their sizes during the frame, so that they repaint in a frame of their
        own after it; when the bars stay as they are (a page of another length that still
        overflows), the bars are told now and only the table repaints: one frame."""
        if size == self.virtual_size:
            return
        bars = (self.show_horizontal_scrollbar, self.show_vertical_scrollbar)
        self.set_reactive(Widget.virtual_size, size)
        if not self.container_size or not self.is_mounted:
            self.refresh(layout=True)
            return
        self._refresh_scrollbars()  # shows or hides a bar: that asks for a layout itself
        if (self.show_horizontal_scrollbar, self.show_vertical_scrollbar) != bars:
            self.refresh(layout=True)
            return
        self._scroll_update(size)
        self.refresh()
