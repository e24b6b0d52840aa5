"""A thread drawn ahead is painted ahead (the timeline's and the prospect panel's lines, their
styles applied): Enter on a rested row copies those lines, and they are the lines the widgets
paint themselves; the kept screen never shows what the previous thread left on it."""

from __future__ import annotations

from typing import Any

import pytest
from textual._styles_cache import StylesCache

from inbox_app.render.safe import inert
from inbox_app.screens.conversation import ConversationScreen
from inbox_app.screens.inbox import InboxScreen
from inbox_app.widgets.conversation.prospect_panel import ProspectPanel
from inbox_app.widgets.conversation.timeline import Timeline
from inbox_app.widgets.inbox.conversation_list import ConversationList
from tests.tui.helpers import settle, settle_until


async def _rest_on_another_row(app: Any, pilot: Any) -> int:
    """Open the highlighted conversation, move its cursor up to the first item, come back and
    rest on the next row; that row's conversation id."""
    await pilot.press("enter")
    await settle_until(pilot, lambda: getattr(app.screen, "ready", False))
    timeline = app.screen.query_one(Timeline)
    timeline.index = 0
    await settle(pilot)
    await pilot.press("escape")
    await settle_until(pilot, lambda: isinstance(app.screen, InboxScreen))
    table = app.screen.query_one(ConversationList)
    table.focus()
    await pilot.press("down")
    await settle(pilot)
    wanted = table.current_id()
    await settle_until(pilot, lambda: app.threads_ahead.has(wanted))
    await settle_until(pilot, lambda: any(k[0] == wanted for k in timeline._ahead))
    return wanted


def _screen_lines(app: Any) -> list[list[Any]]:
    """The screen's every cell as the compositor composes it (text and styles)."""
    return [list(strip) for strip in app.screen._compositor.render_strips()]


@pytest.mark.parametrize("size", [(120, 30), (110, 12)])
async def test_enter_on_a_rested_row_copies_the_lines_painted_ahead(
    app, ids, service, size
) -> None:
    """At 12 rows the thread (notes added) is taller than the timeline: its scroll bar is
    painted too."""
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        if size[1] == 12:
            table = app.screen.query_one(ConversationList)
            second = table.ids()[1]
            for n in range(4):
                await service.messages.add_note(second, f"Note {n}")
            await settle_until(pilot, lambda: table.ids()[1] == second)
        wanted = await _rest_on_another_row(app, pilot)
        timeline = app._reader.query_one(Timeline)
        panel = app._reader.query_one(ProspectPanel)
        [kept] = [v for k, v in timeline._ahead.items() if k[0] == wanted]
        [drawn] = [d for d in panel._ahead if d[0][0].id == kept[0].prospect.id]
        (lines, bar), painted = kept[3], drawn[3]
        assert lines is not None and painted is not None
        await pilot.press("enter")
        await settle_until(pilot, lambda: getattr(app.screen, "ready", False))
        assert app.screen.conversation_id == wanted
        # the frame copied the lines painted ahead: they are the widgets' lines now
        assert timeline._styles_cache is lines.cache
        assert panel._styles_cache is painted.cache
        scrollbar = timeline.vertical_scrollbar
        if size[1] == 12:  # a thread taller than the timeline: its bar was painted too
            assert bar is not None and scrollbar._styles_cache is bar.cache
        copied = _screen_lines(app)
        for widget in (timeline, panel, scrollbar):  # the same screen, every line drawn anew
            widget._styles_cache.clear()
        assert _screen_lines(app) == copied


async def test_a_painting_is_not_used_once_the_widget_asked_for_a_repaint(app, ids) -> None:
    """A change after the painting (here the cursor moved before the frame) paints anew."""
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        wanted = await _rest_on_another_row(app, pilot)
        reader = app._reader
        timeline = reader.query_one(Timeline)
        [kept] = [v for k, v in timeline._ahead.items() if k[0] == wanted]
        await app.open_conversation(wanted)
        assert timeline._painting is kept[3][0]  # handed to the next paint
        timeline.index = 0  # before that paint
        assert timeline._painting is None
        await settle(pilot)
        assert timeline._styles_cache is not kept[3][0].cache
        copied = _screen_lines(app)
        timeline._styles_cache.clear()
        assert _screen_lines(app) == copied


async def test_the_kept_screen_shows_nothing_of_the_previous_thread(app, ids, service) -> None:
    """Opened again for another conversation (drawn and painted ahead), the kept screen shows
    that conversation's messages and prospect only, at its end, its last item highlighted,
    whatever the previous one's cursor and scroll were."""
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        first = app.screen.query_one(ConversationList).current_id()
        wanted = await _rest_on_another_row(app, pilot)
        assert wanted != first
        previous = await service.conversations.thread(first, 48)
        await pilot.press("enter")
        await settle_until(pilot, lambda: getattr(app.screen, "ready", False))
        screen = app.screen
        assert isinstance(screen, ConversationScreen) and screen is app._reader
        assert screen.conversation_id == wanted
        thread = screen.thread
        timeline = screen.query_one(Timeline)
        shown = {item.message.id for item in timeline.items if item.message is not None}
        assert shown and shown <= {m.id for m in thread.messages}
        assert not shown & {m.id for m in previous.messages}
        assert timeline.index == len(timeline) - 1
        assert timeline.scroll_y == timeline.max_scroll_y
        text = "\n".join("".join(s.text for s in line) for line in _screen_lines(app))
        name = lambda p: inert(p.display_name, single_line=True).plain  # noqa: E731
        assert name(thread.prospect) in text
        if previous.prospect.id != thread.prospect.id:
            assert name(previous.prospect) not in text
        panel = screen.query_one(ProspectPanel)
        assert panel._shown is not None and panel._shown[0].id == thread.prospect.id


async def test_a_live_change_after_an_open_from_a_painting_is_drawn(app, ids) -> None:
    """The painting is the open's frame only: a status change that follows is drawn in place."""
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await _rest_on_another_row(app, pilot)
        await pilot.press("enter")
        await settle_until(pilot, lambda: getattr(app.screen, "ready", False))
        timeline = app.screen.query_one(Timeline)
        last = timeline.items[-1]
        assert last.message is not None
        changed = last.message.model_copy(update={"content": "Un tout autre texte"})
        timeline._patch(last, changed)
        await settle(pilot)
        text = "\n".join("".join(s.text for s in line) for line in _screen_lines(app))
        assert "Un tout autre texte" in text


async def test_the_screens_own_lines_are_not_drawn_again_on_open_and_back(app, ids) -> None:
    """Opening a thread and coming back draws none of the two screens' own lines (their
    background, the same for the same size and look), and the screen composed from the kept
    lines is the one composed from lines drawn anew."""
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await _rest_on_another_row(app, pilot)
        drawn: list[str] = []
        render_widget = StylesCache.render_widget

        def counted(cache: StylesCache, widget: Any, crop: Any) -> Any:
            drawn.append(type(widget).__name__)
            return render_widget(cache, widget, crop)

        StylesCache.render_widget = counted  # type: ignore[method-assign]
        try:
            await pilot.press("enter")
            await settle_until(pilot, lambda: getattr(app.screen, "ready", False))
            opened = _screen_lines(app)
            await pilot.press("escape")
            await settle_until(pilot, lambda: isinstance(app.screen, InboxScreen))
            back = _screen_lines(app)
        finally:
            StylesCache.render_widget = render_widget  # type: ignore[method-assign]
        assert "ConversationScreen" not in drawn and "InboxScreen" not in drawn
        inbox = app.screen
        inbox._kept_lines = None
        inbox._styles_cache.clear()
        assert _screen_lines(app) == back
        assert opened != back
