"""The sidebar's highlighted option has its page read before Enter; a change seen meanwhile
makes Enter read it again."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from textual.widgets import DataTable

from core.domain.enums import Channel
from core.events import ConversationChanged
from core.service.conversations import Conversations
from inbox_app.app import InboxApp
from inbox_app.screens.inbox import InboxScreen
from inbox_app.widgets.inbox.conversation_list import ConversationList
from inbox_app.widgets.inbox.sidebar import Sidebar
from tests.factories import add_message, add_prospect
from tests.tui.helpers import names, settle
from tests.tui.test_inbox_frames import _record_frames


def _count_reads(service: Any) -> list[object]:
    """Every page read of the inbox list from now on."""
    reads: list[object] = []
    page = service.conversations.page

    async def counted(*args: Any, **kwargs: Any) -> object:
        reads.append(args)
        return await page(*args, **kwargs)

    service.conversations.page = counted
    return reads


async def _highlight(pilot: Any, option: str) -> Sidebar:
    sidebar = pilot.app.screen.query_one(Sidebar)
    sidebar.focus()
    sidebar.highlighted = sidebar.get_option_index(option)
    await settle(pilot)
    return sidebar


async def test_enter_shows_the_page_read_while_the_option_was_highlighted(
    app, ids, service
) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        reads = _count_reads(service)
        await _highlight(pilot, "channel:email")
        assert len(reads) == 1  # read on the highlight
        await pilot.press("enter")
        await settle(pilot)
        assert sorted(names(app)) == ["Jean Martin", "Marie Dupont"]
        assert len(reads) == 1  # not read again
        assert app.focused is app.screen.query_one(ConversationList)


async def test_a_change_seen_after_the_read_makes_enter_read_the_page_again(
    app, ids, service
) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        reads = _count_reads(service)
        await _highlight(pilot, "channel:email")
        ahead = app.screen._ahead[3][0].items
        unread = next(s.id for s in ahead if s.unread_count)
        await Conversations.mark_read(service.conversations, unread)
        service.bus.publish(ConversationChanged(unread))
        await settle(pilot)
        before = len(reads)
        await pilot.press("enter")
        await settle(pilot)
        assert len(reads) == before + 1
        table = app.screen.query_one(ConversationList)
        assert sorted(names(app)) == ["Jean Martin", "Marie Dupont"]
        assert not table.summaries[unread].unread_count  # not the page read before the change


async def _inbox_of(service: Any, sms: int, email_at: int, emails: int = 1) -> dict[str, int]:
    """``sms`` SMS conversations a minute apart, newest first, and ``emails`` e-mail ones a
    minute apart from between the ``email_at``-th and the next; the newest e-mail
    conversation's id under "email"."""
    made: dict[str, int] = {}
    now = service.ctx.now()
    for n in range(sms):
        prospect = await add_prospect(service, f"Prospect {n:03d}", phone=f"+336{n:08d}")
        await add_message(service, prospect, f"Bonjour {n}", at=now - timedelta(minutes=n))
    for n in range(emails):
        writer = await add_prospect(service, f"Écrit {n:03d}", email=f"ecrit{n}@example.fr")
        conversation, _ = await add_message(
            service,
            writer,
            "Bonjour par écrit",
            channel=Channel.EMAIL,
            at=now - timedelta(minutes=email_at + n, seconds=30),
            subject="Visite",
        )
        made.setdefault("email", conversation)
    return made


async def test_the_highlighted_conversation_near_the_new_pages_end_brings_the_next_page(
    service,
) -> None:
    """Back to "all" from a channel whose newest conversation is row 40 of "all": that row
    stays highlighted, near the first page's end, so the list needs the second page at once.
    It is read ahead with the first and shown in the same frame (before, the list asked for it
    after Enter and showed it in frames of its own)."""
    made = await _inbox_of(service, sms=40, email_at=39, emails=25)
    app = InboxApp(service, clock=service.ctx.clock)
    async with app.run_test(size=(120, 24)) as pilot:  # both lists taller than the screen
        await settle(pilot)
        await _highlight(pilot, "channel:email")
        await pilot.press("enter")
        await settle(pilot)
        table = app.screen.query_one(ConversationList)
        assert (table.row_count, table.current_id()) == (25, made["email"])
        reads = _count_reads(service)
        await _highlight(pilot, "all")
        assert len(reads) == 2  # the two pages, on the highlight
        frames = _record_frames(app)
        await pilot.press("enter")
        await settle(pilot)
        assert len(reads) == 2  # none after Enter
        assert len(frames) == 1
        assert (table.row_count, table.cursor_row) == (65, 40)
        assert table.current_id() == made["email"]
        assert table.scroll_y < 40 < table.scroll_y + table.size.height - 1  # in view, scrolled


async def test_a_reload_reads_the_next_page_first_when_the_highlight_lands_near_the_end(
    service,
) -> None:
    """Without a page read ahead (a filter picked elsewhere than in the sidebar), the second
    page is read before the list changes: one frame shows both."""
    made = await _inbox_of(service, sms=40, email_at=39, emails=25)
    app = InboxApp(service, clock=service.ctx.clock)
    async with app.run_test(size=(120, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, InboxScreen)
        await screen.refilter(dataclasses.replace(screen.filter, channel=Channel.EMAIL))
        await settle(pilot)
        reads = _count_reads(service)
        frames = _record_frames(app)
        await screen.refilter(dataclasses.replace(screen.filter, channel=None))
        await settle(pilot)
        table = screen.query_one(ConversationList)
        assert len(reads) == 2
        assert len(frames) == 1
        assert (table.row_count, table.cursor_row) == (65, 40)
        assert table.current_id() == made["email"]


async def test_a_highlight_far_from_the_end_reads_one_page(service) -> None:
    made = await _inbox_of(service, sms=60, email_at=5)
    app = InboxApp(service, clock=service.ctx.clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await _highlight(pilot, "channel:email")
        await pilot.press("enter")
        await settle(pilot)
        reads = _count_reads(service)
        await _highlight(pilot, "all")
        await pilot.press("enter")
        await settle(pilot)
        table = app.screen.query_one(ConversationList)
        assert len(reads) == 1
        assert (table.row_count, table.cursor_row) == (50, 6)
        assert table.current_id() == made["email"]


async def test_the_highlighted_options_rows_are_drawn_before_enter(app, ids) -> None:
    """With its page, the highlighted option's rows are drawn ahead in the list's focused look,
    the cursor on the first: Enter draws no row, and the rows on screen are DataTable's."""
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ConversationList)
        drawn: list[int] = []
        draw_row = table._draw_row

        def counted(row_index: int, *args: object) -> object:
            drawn.append(row_index)
            return draw_row(row_index, *args)

        table._draw_row = counted  # type: ignore[method-assign]
        await _highlight(pilot, "channel:email")
        assert sorted(drawn) == [0, 1]  # ahead: the e-mail conversations
        drawn.clear()
        await pilot.press("enter")
        await settle(pilot)
        assert sorted(names(app)) == ["Jean Martin", "Marie Dupont"]
        assert drawn == []
        assert table.has_focus and table.cursor_row == 0
        table._pseudo_class_state = table.get_pseudo_class_state()
        table._base_style = table.rich_style
        for y in (1, 2):
            assert list(table.render_line(y)) == list(DataTable.render_line(table, y))


def _count_threads(service: Any) -> list[int]:
    """The conversation of every thread read from now on."""
    reads: list[int] = []
    thread = service.conversations.thread

    async def counted(conversation_id: int, *args: Any, **kwargs: Any) -> object:
        reads.append(conversation_id)
        return await thread(conversation_id, *args, **kwargs)

    service.conversations.thread = counted
    return reads


async def _rest_on_second_row(pilot: Any, service: Any) -> tuple[int, list[int]]:
    """Move the list's cursor down one row and let it rest there: the row's conversation, and
    the threads read since the app started."""
    reads = _count_threads(service)
    await settle(pilot)
    await pilot.press("down")
    await settle(pilot)
    return pilot.app.screen.query_one(ConversationList).current_id(), reads


async def test_enter_shows_the_thread_read_while_the_cursor_rested(app, ids, service) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        rested, reads = await _rest_on_second_row(pilot, service)
        assert rested in reads  # read ahead (as the first row's next unread one, or now)
        before = len(reads)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.ready and app.screen.conversation_id == rested
        assert len(reads) == before  # not read again


async def test_a_change_seen_after_the_thread_was_read_makes_enter_read_it_again(
    app, ids, service
) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        rested, reads = await _rest_on_second_row(pilot, service)
        await service.conversations.set_labels(rested, ["vip"])
        service.bus.publish(ConversationChanged(rested))
        await settle(pilot)
        before = reads.count(rested)
        await pilot.press("enter")
        await settle(pilot)
        assert reads.count(rested) == before + 1
        assert list(app.screen.thread.conversation.labels) == ["vip"]
