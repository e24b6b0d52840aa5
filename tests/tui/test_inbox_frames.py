"""What a filter change costs the screen: the frames it draws and the messages it sends."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

from textual._compositor import LayoutUpdate
from textual.widgets import Input

from core.domain.enums import Channel
from inbox_app.screens.inbox import InboxScreen
from inbox_app.widgets.inbox.conversation_list import ConversationList
from inbox_app.widgets.inbox.sidebar import Sidebar
from tests.factories import add_message, add_prospect
from tests.tui.helpers import names, settle


def _record_frames(app: Any) -> list[object]:
    """Every frame the compositor hands to the app from now on (headless: not written)."""
    frames: list[object] = []
    display = app._display

    def recorded(screen: object, renderable: object) -> None:
        display(screen, renderable)
        if renderable is not None:
            frames.append(renderable)

    app._display = recorded
    return frames


async def test_a_new_page_sends_no_message_per_row(app, ids) -> None:
    """The table sets its cursor again for each row it adds; the list asks for more rows only
    when its cursor moved (or it scrolled) near the end, not once per row."""
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, InboxScreen)
        table = screen.query_one(ConversationList)
        posted: list[object] = []
        post = table.post_message

        def counted(message: Any) -> bool:
            if isinstance(message, ConversationList.NeedMore):
                posted.append(message)
            return post(message)

        table.post_message = counted  # type: ignore[method-assign]
        await screen.refilter(dataclasses.replace(screen.filter, channel=Channel.EMAIL))
        await settle(pilot)
        assert sorted(names(app)) == ["Jean Martin", "Marie Dupont"]
        assert posted == []


async def test_a_channel_switch_is_drawn_in_one_partial_frame(app, ids) -> None:
    """Picking a channel moves the focus to the list and shows the new page and title: one
    frame, of the parts that changed (moving the focus does not repaint the whole screen).

    Both channels hold two conversations: a page of another length changes the list's size,
    and the scroll bars then repaint in a frame of their own after the layout."""
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        sidebar = app.screen.query_one(Sidebar)
        frames: list[object] = []
        for channel, expected in (
            ("email", ["Jean Martin", "Marie Dupont"]),
            ("sms", ["Marie Dupont", "[bold red]Evil[/] Corp"]),
        ):
            sidebar.focus()
            sidebar.highlighted = sidebar.get_option_index(f"channel:{channel}")
            await settle(pilot)
            frames = _record_frames(app)
            await pilot.press("enter")
            await settle(pilot)
            assert sorted(names(app)) == sorted(expected)
        assert app.focused is app.screen.query_one(ConversationList)
        assert len(frames) == 1
        assert not isinstance(frames[0], LayoutUpdate)  # a full-screen update


async def test_typing_a_search_lays_nothing_out_while_the_results_keep_their_size(app, ids) -> None:
    """Each key changes the box's text and the list's rows; neither changes the size of
    anything on the screen, so no key asks for a layout of the screen."""
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press("slash", *"dup")
        await settle(pilot)
        assert names(app) == ["Marie Dupont", "Marie Dupont"]  # her SMS and her e-mail
        layouts: list[object] = []
        refresh_layout = screen._refresh_layout

        def counted(*args: Any, **kwargs: Any) -> None:
            layouts.append(args)
            refresh_layout(*args, **kwargs)

        screen._refresh_layout = counted  # type: ignore[method-assign]
        for key in "ont":
            await pilot.press(key)
            await settle(pilot)
        assert screen.query_one("#search", Input).value == "dupont"
        assert names(app) == ["Marie Dupont", "Marie Dupont"]  # her SMS and her e-mail
        assert layouts == []


async def test_a_search_key_starts_its_read_before_the_box_is_drawn(app, ids) -> None:
    """The box tells the screen its new text at once: the search's read is under way while the
    box's echo is drawn, not started after that frame (its ``Changed`` message reached the
    screen through each container between them, after the box's own repaint)."""
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press("slash", *"du")
        await settle(pilot)
        frames = _record_frames(app)
        conversations = app.service.conversations
        page = conversations.page
        frames_before_read: list[int] = []

        async def read(*args: Any, **kwargs: Any) -> Any:
            frames_before_read.append(len(frames))
            return await page(*args, **kwargs)

        conversations.page = read
        try:
            for key in "pon":
                frames.clear()
                await pilot.press(key)
                await settle(pilot)
        finally:
            conversations.page = page
        assert screen.query_one("#search", Input).value == "dupon"
        assert names(app) == ["Marie Dupont", "Marie Dupont"]  # her SMS and her e-mail
        assert frames_before_read == [0, 0, 0]


async def test_a_page_of_another_length_is_one_frame_while_the_scroll_bar_stays(service) -> None:
    """A page of another length changes the list's scrollable size. While the scroll bar stays
    shown, nothing on the screen moves: no layout, the bar's new thumb in the same frame as the
    rows. A bar that appears or goes still lays the screen out."""
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
        screen = app.screen
        table = screen.query_one(ConversationList)
        bar = table.vertical_scrollbar
        layouts = _count_layouts(screen)
        for channel, length, shown in (
            ("sms", 30, True),
            (None, 45, True),
            ("whatsapp", 15, False),
        ):
            frames = _record_frames(app)
            await screen.refilter(dataclasses.replace(screen.filter, channel=channel))
            await settle(pilot)
            assert table.row_count == length
            assert table.show_vertical_scrollbar is shown
            if shown:
                assert len(frames) == 1
                assert bar.window_virtual_size == length + 1  # the rows and the header
                told = _thumb(bar)
                table.refresh(layout=True)  # what a layout tells the bar: the same
                await settle(pilot)
                assert _thumb(bar) == told
        assert len(layouts) == 1 + 2  # the bar going, and the two asked for above
        assert bar.display is False


def _thumb(bar: Any) -> tuple[float, ...]:
    """What the scroll bar was told: the scrollable size, the window's and the position."""
    return bar.window_virtual_size, bar.window_size, bar.position


def _count_layouts(screen: Any) -> list[object]:
    """Every layout of the screen asked for from now on."""
    layouts: list[object] = []
    refresh_layout = screen._refresh_layout

    def counted(*args: Any, **kwargs: Any) -> None:
        layouts.append(args)
        refresh_layout(*args, **kwargs)

    screen._refresh_layout = counted
    return layouts


async def test_a_page_shown_anew_highlights_its_first_row_once(app, ids) -> None:
    """A page's rows are added at once: the cursor's row is announced once, as adding the
    first row one by one did (the threads read ahead start from it)."""
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, InboxScreen)
        table = screen.query_one(ConversationList)
        highlighted: list[Any] = []
        post = table.post_message

        def counted(message: Any) -> bool:
            if isinstance(message, ConversationList.RowHighlighted):
                highlighted.append(message.row_key.value)
            return post(message)

        table.post_message = counted  # type: ignore[method-assign]
        await screen.refilter(dataclasses.replace(screen.filter, channel=Channel.EMAIL))
        await settle(pilot)
        assert highlighted == [str(table.ids()[0])]
        assert table.ids() == [s.id for s in table.summaries.values()]


def _record_frame_widgets(screen: Any) -> list[set[str]]:
    """The kinds of widget each frame of ``screen`` repaints, from now on."""
    frames: list[set[str]] = []
    update_widgets = screen._compositor.update_widgets

    def recorded(widgets: set[Any]) -> None:
        frames.append({type(widget).__name__ for widget in widgets})
        update_widgets(widgets)

    screen._compositor.update_widgets = recorded
    return frames


async def test_a_search_key_is_one_frame_the_box_with_its_list(app, ids, monkeypatch) -> None:
    """A key's echo in the box waits for the key's list: the box and the list are drawn in
    one frame (drawn alone, the echo was a frame of its own, and the list's frame came no
    sooner than a refresh period after it). The hold's time limit is taken out of the way:
    on a loaded machine the tiny read may take longer than it."""
    from inbox_app.widgets.inbox import search_box

    monkeypatch.setattr(search_box, "ECHO_HOLD_SECONDS", 30.0)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press("slash", *"du")
        await settle(pilot)
        frames = _record_frame_widgets(screen)
        for key in "pon":
            frames.clear()
            await pilot.press(key)
            await settle(pilot)
            assert len(frames) == 1
            assert {"SearchBox", "ConversationList"} <= frames[0]
        box = screen.query_one("#search", Input)
        assert box.value == "dupon" and not box.echo_held
        assert names(app) == ["Marie Dupont", "Marie Dupont"]  # her SMS and her e-mail
        assert "dupon" in "".join(s.text for s in box.render_line(0))


async def test_a_slow_search_shows_what_was_typed_before_its_list(app, ids) -> None:
    """The echo waits for the list ``ECHO_HOLD_SECONDS`` at most: a slow read does not leave
    the agent without what they typed."""
    from inbox_app.widgets.inbox.search_box import ECHO_HOLD_SECONDS

    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        await pilot.press("slash", *"du")
        await settle(pilot)
        conversations = app.service.conversations
        page = conversations.page
        reading = asyncio.Event()

        async def slow(*args: Any, **kwargs: Any) -> Any:
            await reading.wait()
            return await page(*args, **kwargs)

        conversations.page = slow
        frames = _record_frame_widgets(screen)
        try:
            await pilot.press("p")
            await pilot.pause(ECHO_HOLD_SECONDS * 4)
            assert any("SearchBox" in frame for frame in frames)  # shown, the read still on
            assert not any("ConversationList" in frame for frame in frames)
            reading.set()
            await settle(pilot)
        finally:
            conversations.page = page
        assert screen.query_one("#search", Input).value == "dup"
        assert any("ConversationList" in frame for frame in frames)
        assert names(app) == ["Marie Dupont", "Marie Dupont"]  # her SMS and her e-mail
