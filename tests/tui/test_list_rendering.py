"""The inbox list draws its cells as DataTable would, and reuses them only when unchanged."""

from __future__ import annotations

import pytest
from rich.console import Console
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.coordinate import Coordinate
from textual.renderables.styled import Styled
from textual.widgets import DataTable

from core.events import ConversationChanged
from inbox_app.render.cells import fits_one_line, one_line_cell
from inbox_app.widgets.inbox.conversation_list import ConversationList
from inbox_app.widgets.inbox.sidebar import Sidebar
from tests.tui.helpers import settle

PRE = Style(color="#e0e0e0", bgcolor="#153854", meta={"row": 3, "column": 2})
POST = Style(bgcolor="#272727")


def _highlighted() -> Text:
    text = Text("Bonjour Marie, votre dossier")
    text.stylize("bold reverse", 8, 13)
    return text


CELLS = [
    pytest.param(Text("SMS"), 8, id="plain"),
    pytest.param(Text("●", style="bold"), 3, id="styled"),
    pytest.param(Text(" "), 3, id="blank"),
    pytest.param(Text(""), 6, id="empty"),
    pytest.param(_highlighted(), 40, id="spans"),
    pytest.param(_highlighted(), 12, id="spans-cut"),
    pytest.param(Text("Jean-Baptiste de la Fontaine", overflow="ellipsis"), 14, id="ellipsis"),
    pytest.param(Text("日本語のなまえ", style="italic"), 8, id="wide-cut"),
    pytest.param(Text("trailing   "), 8, id="trailing-spaces"),
]


@pytest.mark.parametrize(("cell", "width"), CELLS)
def test_a_one_line_cell_is_drawn_as_rich_draws_it(cell: Text, width: int) -> None:
    console = Console(width=200, color_system="truecolor")
    options = console.options.update_dimensions(width, 1).update(no_wrap=True)
    general = console.render_lines(
        Styled(Padding(cell, (0, 1)), pre_style=PRE, post_style=POST), options
    )
    mine = one_line_cell(console, cell, width, 1, PRE, POST)
    assert fits_one_line(cell)
    assert len(mine) == 1 and Segment.get_line_length(mine[0]) == width
    assert list(Segment.simplify(mine[0])) == list(Segment.simplify(general[0]))


def test_text_with_a_line_break_takes_the_general_path() -> None:
    assert not fits_one_line(Text("two\nlines"))
    assert not fits_one_line(Text("a\ttab"))
    assert not fits_one_line("a string")


def _line(table: ConversationList, conversation_id: int) -> str:
    """The row's text as painted (the header is line 0; the list is not scrolled)."""
    y = table.get_row_index(str(conversation_id)) + 1
    return table.render_line(y).text


async def test_a_row_shown_again_reuses_its_cells_and_a_changed_one_is_redrawn(
    app, ids, service
) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ConversationList)
        unread = next(i for i, s in table.summaries.items() if s.unread_count)
        before = table.get_row_at(table.get_row_index(str(unread)))
        assert _line(table, unread).startswith(" ● ")
        sidebar = app.screen.query_one(Sidebar)
        for option in ("channel:email", "all"):  # away and back: the same rows again
            sidebar.focus()
            sidebar.highlighted = sidebar.get_option_index(option)
            await pilot.press("enter")
            await settle(pilot)
        again = table.get_row_at(table.get_row_index(str(unread)))
        assert all(a is b for a, b in zip(again, before, strict=True))
        assert _line(table, unread).startswith(" ● ")

        await service.conversations.mark_read(unread)
        service.bus.publish(ConversationChanged(unread))
        await settle(pilot)
        assert not table.summaries[unread].unread_count
        assert _line(table, unread).startswith("   ")  # the dot is gone from the screen too


async def test_the_cursor_moves_on_screen_and_leaves_no_highlight_behind(app, ids) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ConversationList)

        def background(row: int) -> object:
            return table.render_line(row + 1)._segments[1].style.bgcolor

        plain = background(2)
        assert background(0) != plain  # the cursor's row
        for moves in range(1, 4):
            await pilot.press("down")
            await settle(pilot)
            assert background(moves) != plain
            assert [background(r) for r in range(4) if r != moves] == [plain] * 3


@pytest.mark.parametrize("width", [120, 220])  # 220: wider than the columns, the row extended
async def test_a_row_is_drawn_segment_for_segment_as_datatable_draws_it(app, ids, width) -> None:
    """The list's own line drawing (``render_line``) against DataTable's: the cursor's row, the
    mouse's, a tagged row and plain ones, focused and not, and again after the list changed."""
    async with app.run_test(size=(width, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ConversationList)

        def compare() -> None:
            table._pseudo_class_state = table.get_pseudo_class_state()
            table._base_style = table.rich_style
            for y in range(1, min(table.row_count, table.size.height - 1) + 1):
                mine = list(table.render_line(y))
                theirs = list(DataTable.render_line(table, y))
                assert mine == theirs, y
                assert [s.style.meta for s in mine] == [s.style.meta for s in theirs], y

        compare()
        table.move_cursor(row=2)
        table.hover_coordinate = Coordinate(4, 0)
        table._set_hover_cursor(True)
        table.toggle_tag(table.ids()[5], app.now())
        await settle(pilot)
        compare()
        app.screen.query_one(Sidebar).focus()  # the cursor's blurred look
        await settle(pilot)
        compare()
        table.put_in_order(list(reversed(table.ids())))
        await settle(pilot)
        compare()


async def test_a_focus_that_comes_back_finds_the_rows_it_drew(app, ids) -> None:
    """The focus goes to the sidebar and back (as picking a channel does): the focused look
    comes back without drawing any row again (DataTable forgets its drawings on every style
    update), and what is on screen is still what DataTable draws."""
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ConversationList)
        sidebar = app.screen.query_one(Sidebar)
        focused = [table.render_line(y) for y in range(1, table.row_count + 1)]
        drawn: list[int] = []
        draw_row = table._draw_row

        def counted(row_index: int, *args: object) -> object:
            drawn.append(row_index)
            return draw_row(row_index, *args)

        table._draw_row = counted
        sidebar.focus()
        await settle(pilot)
        assert table.render_line(1) != focused[0]  # the cursor's blurred look
        drawn.clear()
        table.focus()
        await settle(pilot)
        assert [table.render_line(y) for y in range(1, table.row_count + 1)] == focused
        assert drawn == []
        table._pseudo_class_state = table.get_pseudo_class_state()
        table._base_style = table.rich_style
        assert list(table.render_line(1)) == list(DataTable.render_line(table, 1))


async def test_enter_repaints_no_row_when_the_hover_cursor_is_already_hidden(app, ids) -> None:
    """DataTable hides the mouse's hover cursor on every key and repaints its row; with the
    mouse elsewhere it is hidden already, and Enter (opening a thread) repaints nothing."""
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ConversationList)
        repainted: list[int] = []
        table.refresh_row = repainted.append  # type: ignore[method-assign]
        table.action_select_cursor()
        assert repainted == []
        table._set_hover_cursor(True)  # the mouse comes over the list: its row is shown
        assert repainted != []
