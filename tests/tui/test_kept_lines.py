"""A channel switch styles, restyles and repaints only what changed; what shows is Textual's.

The inbox list and the sidebar keep each styled line by its content line and look
(``render/kept_lines.py``), the list's rows drawn ahead are styled ahead too, its header and
scroll bar are kept by look, and both widgets take the styles they had before in a state seen
before (``widgets/kept_styles.py``). Each test compares what is shown with what Textual paints
or computes afresh.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from rich.segment import Segment
from textual._styles_cache import StylesCache
from textual.geometry import Region
from textual.scrollbar import ScrollBar
from textual.widget import Widget
from textual.widgets import DataTable, OptionList

from core.domain.enums import Channel
from inbox_app.widgets.inbox.conversation_list import ConversationList
from inbox_app.widgets.inbox.sidebar import Sidebar
from tests.factories import add_message, add_prospect
from tests.tui.helpers import names, settle


def _shown(widget: Widget) -> list[list[Segment]]:
    return [list(strip) for strip in widget.render_lines(Region(0, 0, *widget.outer_size))]


def _afresh(widget: Widget, paint: Any) -> list[list[Segment]]:
    """The widget's lines styled by a styles cache of Textual's own, nothing kept."""
    kept = widget._styles_cache
    widget._styles_cache = StylesCache()
    try:
        return [list(strip) for strip in paint(widget, Region(0, 0, *widget.outer_size))]
    finally:
        widget._styles_cache = kept


def _list_afresh(table: ConversationList) -> list[list[Segment]]:
    table._header_lines.clear()  # the header as DataTable draws it now
    return _afresh(table, DataTable.render_lines)


def _sidebar_afresh(sidebar: Sidebar) -> list[list[Segment]]:
    sidebar._painted.clear()
    sidebar._kept_lines.clear()
    return _afresh(sidebar, OptionList.render_lines)


async def _highlight(pilot: Any, option: str) -> Sidebar:
    sidebar = pilot.app.screen.query_one(Sidebar)
    sidebar.focus()
    await settle(pilot)
    sidebar.highlighted = sidebar.get_option_index(option)
    await settle(pilot)
    return sidebar


async def _pick(pilot: Any, option: str) -> None:
    await _highlight(pilot, option)
    await pilot.press("enter")
    await settle(pilot)


@contextlib.contextmanager
def _count_styled(widget: Widget) -> Iterator[list[int]]:
    """Every content line of ``widget`` styled meanwhile (kept lines are not styled)."""
    styled: list[int] = []
    render_line = StylesCache.render_line

    def counted(self: StylesCache, styles: Any, y: int, *args: Any) -> Any:
        if self is widget._styles_cache:
            styled.append(y)
        return render_line(self, styles, y, *args)

    StylesCache.render_line = counted  # type: ignore[method-assign]
    try:
        yield styled
    finally:
        StylesCache.render_line = render_line  # type: ignore[method-assign]


async def test_the_lines_shown_are_textuals_in_every_look_of_a_switch(app, ids) -> None:
    """Focused and blurred, before and after switches back and forth (kept lines reused), the
    list's and the sidebar's lines are those Textual styles afresh, segment for segment."""
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ConversationList)
        sidebar = app.screen.query_one(Sidebar)
        for option in ("channel:email", "all", "channel:email", "channel:sms", "all"):
            await _highlight(pilot, option)
            assert sidebar.has_focus
            assert _shown(table) == _list_afresh(table)
            assert _shown(sidebar) == _sidebar_afresh(sidebar)
            await pilot.press("enter")
            await settle(pilot)
            assert table.has_focus
            assert _shown(table) == _list_afresh(table)
            assert _shown(sidebar) == _sidebar_afresh(sidebar)


async def test_rows_drawn_ahead_are_styled_ahead(app, ids) -> None:
    """The highlighted option's rows are styled in the list's focused look with their
    drawing: Enter styles none of them, and they are Textual's lines."""
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ConversationList)
        await _pick(pilot, "all")  # the list painted focused once: its look is known
        await _highlight(pilot, "channel:email")
        with _count_styled(table) as styled:
            await pilot.press("enter")
            await settle(pilot)
        assert sorted(names(app)) == ["Jean Martin", "Marie Dupont"]
        header = table.header_height
        assert [y for y in styled if y >= header and y < header + table.row_count] == []
        assert _shown(table) == _list_afresh(table)


async def test_a_sidebar_look_painted_first_paints_only_the_lines_that_differ(app, ids) -> None:
    """A channel picked for the first time: the sidebar's blurred look with that channel
    highlighted is new, but only the lines that differ from looks painted before (the
    channel's, and the one highlighted before) are styled; the lines are Textual's."""
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        sidebar = app.screen.query_one(Sidebar)
        await _pick(pilot, "channel:email")
        await _highlight(pilot, "channel:sms")
        with _count_styled(sidebar) as styled:
            await pilot.press("enter")
            await settle(pilot)
        assert not sidebar.has_focus
        assert 0 < len(styled) <= 2
        assert _shown(sidebar) == _sidebar_afresh(sidebar)


async def test_the_list_is_restyled_as_textual_restyles_it(app, ids) -> None:
    """Back in a focus state seen before, the list and the sidebar take the styles kept for
    it: the same rules and component styles as Textual's restyle, also after a theme change
    (a new look, not a kept one)."""
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ConversationList)
        sidebar = app.screen.query_one(Sidebar)
        for theme in (None, "textual-light"):
            if theme is not None:
                app.theme = theme
                await settle(pilot)
            for _ in range(2):
                await _pick(pilot, "channel:email")  # sidebar blurred, list focused
                _assert_styled_as_textual(table)
                _assert_styled_as_textual(sidebar)
                await _highlight(pilot, "all")  # sidebar focused, list blurred
                _assert_styled_as_textual(table)
                _assert_styled_as_textual(sidebar)
                await pilot.press("enter")
                await settle(pilot)


def _assert_styled_as_textual(widget: Any) -> None:
    classes = sorted(widget._get_component_classes())
    kept = (widget.styles.base.get_rules(), [widget.get_component_rich_style(c) for c in classes])
    widget._kept_styles.clear()
    Widget.update_node_styles(widget, animate=False)
    textuals = (
        widget.styles.base.get_rules(),
        [widget.get_component_rich_style(c) for c in classes],
    )
    assert kept == textuals


async def test_the_scroll_bar_shows_its_new_thumb_and_textuals_lines(service) -> None:
    """The list's scroll bar keeps its lines by what it shows: pages of other lengths and a
    scroll show the new thumb, as Textual paints it afresh."""
    from inbox_app.app import InboxApp

    now = service.ctx.now()
    for n in range(45):
        channel = Channel.SMS if n < 30 else Channel.WHATSAPP
        prospect = await add_prospect(service, f"Prospect {n:03d}", phone=f"+336{n:08d}")
        await add_message(
            service, prospect, f"Bonjour {n}", channel=channel, at=now - timedelta(minutes=n)
        )
    app = InboxApp(service, clock=service.ctx.clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ConversationList)
        bar = table.vertical_scrollbar
        seen = []
        for option in ("channel:sms", "all", "channel:sms", "all"):
            await _pick(pilot, option)
            assert bar.display
            shown = _shown(bar)
            bar._set_dirty()
            assert shown == _afresh(bar, ScrollBar.render_lines)
            seen.append(shown)
        assert seen[0] != seen[1] and seen[0] == seen[2] and seen[1] == seen[3]
        table.scroll_to(y=10, animate=False)
        await settle(pilot)
        shown = _shown(bar)
        bar._set_dirty()
        assert shown != seen[3] and shown == _afresh(bar, ScrollBar.render_lines)
