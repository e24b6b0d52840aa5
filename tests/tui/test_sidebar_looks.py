"""The sidebar keeps its painted lines per look: picking a channel moves the focus to the list
and back, and a look painted before is not painted again; what it shows is never stale."""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from textual.geometry import Region
from textual.widgets import OptionList

from inbox_app.widgets.inbox.sidebar import Sidebar
from tests.tui.helpers import settle


def _count_painted_lines(sidebar: Sidebar) -> list[int]:
    """Every line the sidebar's styles cache paints from now on (one entry each)."""
    painted: list[int] = []
    paint = sidebar._styles_cache.render_line

    def counted(*args: Any, **kwargs: Any) -> Any:
        painted.append(1)
        return paint(*args, **kwargs)

    sidebar._styles_cache.render_line = counted  # type: ignore[method-assign]
    return painted


def _painted_afresh(sidebar: Sidebar) -> list[list[Segment]]:
    """The sidebar's lines as Textual paints them with nothing kept."""
    sidebar._styles_cache.clear()
    region = Region(0, 0, *sidebar.outer_size)
    return [list(strip) for strip in OptionList.render_lines(sidebar, region)]


def _shown(sidebar: Sidebar) -> list[list[Segment]]:
    return [list(strip) for strip in sidebar.render_lines(Region(0, 0, *sidebar.outer_size))]


async def _pick(pilot: Any, sidebar: Sidebar, option: str) -> None:
    sidebar.focus()
    sidebar.highlighted = sidebar.get_option_index(option)
    await settle(pilot)
    await pilot.press("enter")
    await settle(pilot)


async def test_a_channel_picked_again_repaints_no_sidebar_line(app, ids) -> None:
    """The second time a channel is picked, the sidebar's blurred look with that channel
    highlighted was painted before: none of its lines is painted again, and the lines shown
    are the ones Textual paints."""
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        sidebar = app.screen.query_one(Sidebar)
        await _pick(pilot, sidebar, "channel:email")
        await _pick(pilot, sidebar, "channel:sms")
        sidebar.focus()
        sidebar.highlighted = sidebar.get_option_index("channel:email")
        await settle(pilot)
        painted = _count_painted_lines(sidebar)
        await pilot.press("enter")
        await settle(pilot)
        assert app.focused is not sidebar
        assert painted == []
        assert _shown(sidebar) == _painted_afresh(sidebar)


async def test_new_counts_are_painted_over_a_kept_look(app, ids) -> None:
    """Counts that change drop the kept looks: the sidebar shows the new numbers, in the
    look it had before."""
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        sidebar = app.screen.query_one(Sidebar)
        await _pick(pilot, sidebar, "channel:email")
        await _pick(pilot, sidebar, "all")
        counts = dict(sidebar.counts or {})
        counts["email"] = (7, 42)
        sidebar.show_counts(counts)
        await settle(pilot)
        text = "".join(segment.text for line in _shown(sidebar) for segment in line)
        assert "42" in text
        assert _shown(sidebar) == _painted_afresh(sidebar)
