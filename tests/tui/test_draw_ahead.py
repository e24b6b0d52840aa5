"""A thread read ahead is drawn ahead on the kept conversation screen: Enter (or ``n``) then
draws only the highlighted item; a change seen meanwhile makes it draw the thread anew."""

from __future__ import annotations

from typing import Any

from core.events import ConversationChanged
from inbox_app.screens.conversation import ConversationScreen
from inbox_app.screens.inbox import InboxScreen
from inbox_app.widgets.conversation.timeline import Timeline
from inbox_app.widgets.inbox.conversation_list import ConversationList
from tests.tui.helpers import settle, settle_until


def _count_draws(timeline: Timeline) -> list[object]:
    """Every item the timeline draws from now on."""
    drawn: list[object] = []
    draw = timeline._draw_body

    def counted(item: Any, width: int, highlighted: bool) -> Any:
        drawn.append(item)
        return draw(item, width, highlighted)

    timeline._draw_body = counted  # type: ignore[method-assign]
    return drawn


async def _rest_on_another_row(app: Any, pilot: Any) -> int:
    """Open the highlighted conversation (the app keeps its screen), come back, and rest on
    the next row; its id."""
    await pilot.press("enter")
    await settle_until(pilot, lambda: isinstance(app.screen, ConversationScreen))
    await pilot.press("escape")
    await settle_until(pilot, lambda: isinstance(app.screen, InboxScreen))
    table = app.screen.query_one(ConversationList)
    table.focus()
    await pilot.press("down")
    await settle(pilot)
    wanted = table.current_id()
    await settle_until(pilot, lambda: app.threads_ahead.has(wanted))
    return wanted


async def test_enter_on_a_rested_row_draws_only_the_highlighted_item(app, ids) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        wanted = await _rest_on_another_row(app, pilot)
        timeline = app._reader.query_one(Timeline)
        ahead = [v for k, v in timeline._ahead.items() if k[0] == wanted]
        assert ahead, "the rested row's thread is drawn ahead"
        drawn = _count_draws(timeline)
        await pilot.press("enter")
        await settle_until(pilot, lambda: getattr(app.screen, "ready", False))
        assert app.screen.conversation_id == wanted
        assert timeline.items == ahead[0][2]  # the very items drawn ahead
        assert len(drawn) <= 1  # the highlighted one: drawn ahead unhighlighted


async def test_a_change_seen_after_the_drawing_draws_the_thread_anew(app, ids, service) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        wanted = await _rest_on_another_row(app, pilot)
        timeline = app._reader.query_one(Timeline)
        ahead = [v for k, v in timeline._ahead.items() if k[0] == wanted]
        assert ahead
        service.bus.publish(ConversationChanged(wanted))
        await settle_until(pilot, lambda: not app.threads_ahead.has(wanted))
        drawn = _count_draws(timeline)
        await pilot.press("enter")
        await settle_until(pilot, lambda: getattr(app.screen, "ready", False))
        assert app.screen.conversation_id == wanted
        assert timeline.items != ahead[0][2]  # read and drawn again, not the old drawing
        assert len(drawn) > 1


async def test_the_prospect_panel_is_drawn_ahead_with_the_thread(app, ids) -> None:
    """Enter on a rested row wraps no prospect text: the panel copies the lines drawn ahead,
    and they are the rested row's prospect's."""
    from inbox_app.widgets.conversation.prospect_panel import ProspectPanel, prospect_text

    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        wanted = await _rest_on_another_row(app, pilot)
        panel = app._reader.query_one(ProspectPanel)
        before = panel._shown[0] if panel._shown else None
        wraps: list[object] = []
        wrap = panel._wrap
        panel._wrap = lambda text, width: wraps.append(text) or wrap(text, width)  # type: ignore[method-assign]
        await pilot.press("enter")
        await settle_until(pilot, lambda: getattr(app.screen, "ready", False))
        assert app.screen.conversation_id == wanted
        prospect = app.screen.thread.prospect
        assert before is not None and before.id != prospect.id  # another prospect is shown
        assert wraps == []
        lines = [panel.render_line(y).text.rstrip() for y in range(panel.size.height)]
        fresh = prospect_text(prospect, list(app.screen.thread.appointments), app.screen.tz)
        assert lines[: len(fresh.plain.splitlines())] == fresh.plain.splitlines()
