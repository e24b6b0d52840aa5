"""The inbox screen driven by keys: list, counts, sorts, search, filters, paging, live updates."""

from __future__ import annotations

from datetime import timedelta

from core.domain.enums import Channel
from core.events import ConversationChanged
from inbox_app.screens.conversation import ConversationScreen
from inbox_app.screens.inbox import InboxScreen
from inbox_app.widgets.inbox.conversation_list import ConversationList
from inbox_app.widgets.inbox.sidebar import Sidebar
from tests.factories import add_message, add_prospect
from tests.tui.helpers import names, rows, settle, static_text
from tests.tui.scenario import EVIL_NAME


async def test_the_list_is_newest_first_with_counts(app, ids) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert names(app)[:2] == ["Marie Dupont", "[bold red]Evil[/] Corp"]
        assert len(names(app)) == 6
        sidebar = app.screen.query_one(Sidebar)
        assert str(sidebar.get_option("all").prompt) == "All 5/6"
        assert str(sidebar.get_option("channel:sms").prompt) == "SMS 2/2"


async def test_untrusted_names_and_bodies_are_shown_as_written(app, ids) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        evil = next(r for r in rows(app) if r[2].startswith("[bold"))
        assert evil[2] == "[bold red]Evil[/] Corp"
        assert "\x1b" not in "".join(evil)
        assert evil[4] == "[link=file:///etc/passwd]click[/link] red"
        assert evil[2] != EVIL_NAME  # the escape sequences were stripped


async def test_sorts_cycle_and_waiting_shows_the_oldest_unanswered_first(app, ids) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert names(app)[0] == "Marie Dupont" and "by priority" in static_text(app, "#title")
        await pilot.press("s")
        await settle(pilot)
        assert "longest waiting" in static_text(app, "#title")
        assert names(app)[0] == "Luc Moreau"  # his call, unanswered for 26 hours
        assert ["MAIL", "Marie Dupont"] not in [r[1:3] for r in rows(app)]  # answered


async def test_search_finds_and_highlights(app, ids) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"dossier", "enter")
        await settle(pilot)
        assert names(app) == ["Jean Martin"]
        table = app.screen.query_one(ConversationList)
        preview = table.get_row_at(0)[4]
        # the snippet of the matching message: its subject, then the match in its body (after
        # the priority, assignee and labels an 80-column screen shows before it: "! … │ ")
        after = preview.plain.index("│ ") + 2
        spans = [preview.plain[s.start : s.end] for s in preview.spans if s.start >= after]
        assert spans == ["Dossier", "dossier"]
        await pilot.press("escape")
        await settle(pilot)
        assert len(names(app)) == 6


async def test_sidebar_channel_and_view_combine_with_filters(app, ids, service) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, InboxScreen)
        sidebar = screen.query_one(Sidebar)
        sidebar.focus()
        sidebar.highlighted = sidebar.get_option_index("channel:email")
        await pilot.press("enter")
        await settle(pilot)
        assert sorted(names(app)) == ["Jean Martin", "Marie Dupont"]
        assert {r[1] for r in rows(app)} == {"MAIL"}
        await pilot.press("tab", "f")
        await settle(pilot)
        app.screen.query_one("#since").value = "2026-03-10"
        app.screen.action_apply()
        await settle(pilot)
        assert names(app) == ["Jean Martin"]
        assert screen.filter.channel == Channel.EMAIL and screen.filter.since is not None


async def test_a_bad_date_is_refused_in_place(app, ids) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        app.screen.query_one("#since").value = "10/03/2026"
        app.screen.action_apply()
        await settle(pilot)
        assert "not a date" in static_text(app, "#problem")
        assert app.screen.__class__.__name__ == "FilterScreen"


async def test_pages_load_as_the_cursor_nears_the_end(service, ids) -> None:
    from inbox_app.app import InboxApp

    for n in range(130):
        prospect = await add_prospect(service, f"Prospect {n:03d}", phone=f"+336{n:08d}")
        await add_message(
            service, prospect, f"Bonjour {n}", at=service.ctx.now() - timedelta(hours=5, minutes=n)
        )
    app = InboxApp(service, clock=service.ctx.clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ConversationList)
        assert table.row_count == 50
        await pilot.press(*["down"] * 40)
        await settle(pilot)
        assert table.row_count == 100
        for _ in range(3):
            await pilot.press(*["down"] * 50)
            await settle(pilot)
        assert table.row_count == 136
        assert len(set(table.ids())) == 136


async def test_new_messages_appear_without_a_keypress(app, ids, service) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        prospect = await add_prospect(service, "Nouveau Client", phone="+33677777777")
        conversation_id, _ = await add_message(service, prospect, "Bonjour !")
        service.bus.publish(ConversationChanged(conversation_id))
        await settle(pilot)
        assert names(app)[0] == "Nouveau Client"
        assert str(app.screen.query_one(Sidebar).get_option("all").prompt) == "All 6/7"


async def test_enter_opens_and_n_goes_to_the_next_unread(app, ids) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ConversationScreen)
        assert app.screen.conversation_id == ids["marie_sms"]
        await pilot.press("n")
        await settle(pilot)
        assert app.screen.conversation_id == ids["evil_sms"]
        await pilot.press("q")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)
        assert rows(app)[0][0] == " "  # opened conversations are read now


async def test_every_action_is_in_the_command_palette(app, ids) -> None:
    from inbox_app.palette import ActionsProvider

    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        provider = ActionsProvider(app.screen)
        found = [hit.text for hit in [h async for h in provider.discover()]]
        assert {"Search", "Sort", "Filters", "Reply", "Help", "Settings", "Analytics"} <= set(found)


async def test_the_inbox_speaks_french(app, ids) -> None:
    from core import i18n

    previous = i18n.language()
    i18n.set_language("fr")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            assert "plus récentes" in static_text(app, "#title")
            assert str(app.screen.query_one(Sidebar).get_option("view:closed").prompt) == "Fermées"
            assert rows(app)[0][3] == "il y a 4\xa0min"
    finally:
        i18n.set_language(previous)


async def test_n_in_the_inbox_opens_the_next_unread_and_the_list_follows_it(app, ids) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ConversationList)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, ConversationScreen)
        opened = app.screen.conversation_id
        assert opened != ids["marie_sms"]  # the highlighted one is not "next"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)
        assert table.current_id() == opened
