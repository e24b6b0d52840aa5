"""The sidebar's highlighted option has its page read before Enter; a change seen meanwhile
makes Enter read it again."""

from __future__ import annotations

from typing import Any

from core.events import ConversationChanged
from core.service.conversations import Conversations
from inbox_app.widgets.inbox.conversation_list import ConversationList
from inbox_app.widgets.inbox.sidebar import Sidebar
from tests.tui.helpers import names, settle


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
