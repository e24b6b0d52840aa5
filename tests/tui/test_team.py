"""Team mode in the app: reconnecting, reloading after a gap, presence, who you are, assignment.

The core's live link publishes ``ConnectionState``, ``Resync`` and ``PresenceChanged`` on the
service's bus; these tests publish the same events there (SQLite has no live link). The
PostgreSQL tests at the end drive the real link between two services.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textual.widgets import OptionList, TextArea

from core.config.settings import Settings
from core.domain.enums import Direction
from core.events import ConnectionState, Resync
from core.service import InboxFilter, InboxService, View
from inbox_app.app import InboxApp
from inbox_app.screens.choice import ChoiceScreen
from inbox_app.screens.composer import ComposerScreen
from inbox_app.screens.conversation import ConversationScreen
from inbox_app.screens.inbox import InboxScreen
from inbox_app.widgets.inbox.conversation_list import COLUMNS
from inbox_app.widgets.inbox.sidebar import Sidebar
from inbox_app.widgets.team.link_status import LinkStatus
from inbox_app.widgets.team.presence_line import PresenceLine
from tests.factories import add_prospect
from tests.tui.helpers import names, rows, settle, static_text
from tests.tui.scenario import say

ASSIGNEE = COLUMNS.index("assignee")


def notices(app) -> list[str]:
    return [n.message for n in app._notifications]


def link_shown(app) -> bool:
    status = app.screen.query_one(LinkStatus)
    return status.shown and status.display


async def open_conversation(app, pilot, conversation_id: int) -> None:
    await settle(pilot)
    app.push_screen(ConversationScreen(conversation_id))
    await settle(pilot)


async def publish(pilot, service: InboxService, event) -> None:
    service.bus.publish(event, forward=False)
    await settle(pilot)


# -- reconnecting --------------------------------------------------------------------------


async def test_offline_shows_reconnecting_and_keeps_the_composers_text(app, ids, service) -> None:
    before = len((await service.conversations.thread(ids["marie_sms"])).messages)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_conversation(app, pilot, ids["marie_sms"])
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ComposerScreen)
        app.screen.query_one("#channel").value = "sms"
        await pilot.press(*"A jeudi !")
        assert not link_shown(app)

        await publish(pilot, service, ConnectionState(False))
        assert link_shown(app)
        assert "Reconnecting" in str(app.screen.query_one(LinkStatus).render())
        assert app.screen.query_one(TextArea).text == "A jeudi !"

        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ComposerScreen)  # still writing, nothing lost
        assert app.screen.query_one(TextArea).text == "A jeudi !"
        assert any("Not sent" in m and "text is kept" in m for m in notices(app))
        after_refusal = len((await service.conversations.thread(ids["marie_sms"])).messages)
        assert after_refusal == before

        await publish(pilot, service, ConnectionState(True))
        await publish(pilot, service, Resync())
        assert not link_shown(app)
        assert any("back" in m for m in notices(app))
        assert app.screen.query_one(TextArea).text == "A jeudi !"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConversationScreen)
        assert not link_shown(app)
    thread = await service.conversations.thread(ids["marie_sms"])
    sent = [m for m in thread.messages if m.content == "A jeudi !"]
    assert len(sent) == 1 and sent[0].direction == Direction.OUTBOUND


async def test_every_main_screen_shows_the_reconnecting_line(app, ids, service) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await publish(pilot, service, ConnectionState(False))
        assert isinstance(app.screen, InboxScreen) and link_shown(app)
        await open_conversation(app, pilot, ids["jean_email"])  # opened while offline
        assert link_shown(app)
        await publish(pilot, service, ConnectionState(True))
        assert not link_shown(app)
        await pilot.press("q")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen) and not link_shown(app)


@pytest.mark.parametrize("key", ["f2", "f3", "c"])  # settings, analytics, calendar
async def test_the_other_screens_show_the_reconnecting_line_too(app, service, key) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)
        assert not isinstance(app.screen, InboxScreen)
        assert not link_shown(app)
        await publish(pilot, service, ConnectionState(False))
        assert link_shown(app)
        await publish(pilot, service, ConnectionState(True))
        assert not link_shown(app)


async def test_a_resync_reloads_the_list_and_the_open_conversation(app, ids, service) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        # written by another process while the link was down: no event reached this app
        newcomer = await add_prospect(service, "Nadia Petit", phone="+33622334455")
        await say(service, newcomer, "Bonjour, toujours dispo ?")
        await say(service, ids["marie"], "Je confirme pour jeudi.")
        await settle(pilot)
        assert "Nadia Petit" not in names(app)
        await publish(pilot, service, Resync())
        assert names(app)[0] == "Nadia Petit"

        await open_conversation(app, pilot, ids["marie_sms"])
        await say(service, ids["marie"], "Et le parking ?")
        await settle(pilot)
        thread = app.screen.thread
        assert not any(m.content == "Et le parking ?" for m in thread.messages)
        await publish(pilot, service, Resync())
        assert any(m.content == "Et le parking ?" for m in app.screen.thread.messages)


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # a file moved away; PG: below
async def test_a_database_gone_mid_action_is_a_notice_and_the_screens_stay(
    app, ids, service
) -> None:
    path = Path(service.db.location)
    away = path.with_name("away")
    async with app.run_test(size=(100, 30)) as pilot:
        await open_conversation(app, pilot, ids["jean_email"])
        title = static_text(app, "#title")

        await service.db.engine.dispose()
        away.mkdir()
        for file in path.parent.glob(path.name + "*"):
            shutil.move(file, away / file.name)
        path.parent.joinpath(path.name).mkdir()  # nothing can open the database now
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ConversationScreen)
        assert static_text(app, "#title") == title
        errors = [n.message for n in app._notifications if n.severity == "error"]
        assert errors and str(path) in errors[-1] and "Traceback" not in errors[-1]

        await pilot.press("q")
        await settle(pilot)
        await pilot.press("s")  # the inbox reloads: a notice, an empty list, no crash
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)

        path.rmdir()
        for file in away.iterdir():
            shutil.move(file, path.parent / file.name)
        await pilot.press("s", "s")  # back to the first sort, with the database back
        await settle(pilot)
        assert "Jean Martin" in names(app)
        app.push_screen(ConversationScreen(ids["jean_email"]))
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert "Closed" in static_text(app, "#title")


# -- presence ------------------------------------------------------------------------------


async def test_opening_and_leaving_a_conversation_tells_presence(app, ids, service) -> None:
    presence = service.team.presence
    async with app.run_test(size=(100, 30)) as pilot:
        await open_conversation(app, pilot, ids["marie_sms"])
        assert presence.current == ids["marie_sms"]
        await pilot.press("r")  # replying: still in the conversation
        await settle(pilot)
        assert presence.current == ids["marie_sms"]
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("q")
        await settle(pilot)
        assert presence.current is None
        await open_conversation(app, pilot, ids["jean_email"])
        app.switch_screen(ConversationScreen(ids["sophie_telegram"]))
        await settle(pilot)
        assert presence.current == ids["sophie_telegram"]


async def test_the_conversation_says_who_else_is_viewing_it(app, ids, service) -> None:
    presence = service.team.presence
    async with app.run_test(size=(100, 30)) as pilot:
        await open_conversation(app, pilot, ids["marie_sms"])
        line = app.screen.query_one(PresenceLine)
        assert not line.display or not line.has_class("-others")
        # what the live link hands presence when another agent's app opens this conversation
        presence._on_message("claire-app", {"n": "Claire", "c": ids["marie_sms"]})
        presence._on_message("marc-app", {"n": "Marc [b]x[/b]", "c": ids["jean_email"]})
        await settle(pilot)
        assert line.has_class("-others")
        assert str(line.render()) == "Also here: Claire"
        presence._on_message("marc-app", {"n": "Marc [b]x[/b]", "c": ids["marie_sms"]})
        await settle(pilot)
        assert str(line.render()) == "Also here: Claire, Marc [b]x[/b]"
        presence._on_message("claire-app", {"n": "Claire", "c": None})
        presence._on_message("marc-app", {"n": "Marc [b]x[/b]", "c": None})
        await settle(pilot)
        assert not line.has_class("-others")


# -- which agent ---------------------------------------------------------------------------


def team_app(service: InboxService, **settings: object) -> InboxApp:
    return InboxApp(service, Settings(mode="local", **settings), clock=service.ctx.clock)


async def test_with_several_agents_the_app_asks_who_you_are_and_uses_it(ids, service) -> None:
    marie = await service.agents.add("Marie")
    app = team_app(service)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ChoiceScreen)
        options = app.screen.query_one(OptionList)
        labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert labels == ["Camille", "Marie"]
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)
        assert service.ctx.agent_id == marie.id
        assert any("You are Marie" in m and '--agent "Marie"' in m for m in notices(app))

        app.screen.query_one(Sidebar).post_message(Sidebar.Picked(None, View.MINE))
        await settle(pilot)
        assert names(app) == []  # nothing is Marie's yet
        app.screen.query_one(Sidebar).post_message(Sidebar.Picked(None, View.ALL))
        await settle(pilot)
        luc_row = names(app).index("Luc Moreau")
        app.screen.table.move_cursor(row=luc_row)
        await pilot.press("A")
        await settle(pilot)
        assert rows(app)[luc_row][ASSIGNEE] == "Marie"
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("i", *"Rappelé ce matin", "enter")
        await settle(pilot)
        assert "Marie" in static_text(app, "#title")
    note = [m for m in (await service.conversations.thread(ids["luc_voice"])).messages][-1]
    assert note.content == "Rappelé ce matin" and note.sender_id == marie.id
    entry = (await service.audit.recent(1, ("conversation", ids["luc_voice"])))[0]
    assert (entry.action, entry.agent_id, entry.details["to"]) == ("assign", marie.id, marie.id)


async def test_escape_leaves_you_nobody_and_mine_says_what_is_missing(ids, service) -> None:
    await service.agents.add("Marie")
    app = team_app(service)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("escape")
        await settle(pilot)
        assert service.ctx.agent_id is None
        assert any("--agent NAME" in m for m in notices(app))
        shown = names(app)
        app.screen.query_one(Sidebar).post_message(Sidebar.Picked(None, View.MINE))
        await settle(pilot)
        assert app.screen.filter.view is View.ALL and names(app) == shown
        assert any("“Mine” needs" in m for m in notices(app))
        await pilot.press("A")
        await settle(pilot)
        assert any("Start with --agent NAME to take" in m for m in notices(app))
    page = await service.conversations.page(InboxFilter())
    assert [c.assignee_id for c in page.items if c.assignee_id] == [ids["agent"]]


async def test_the_demo_and_a_single_agent_ask_nothing(ids, service) -> None:
    demo = InboxApp(service, clock=service.ctx.clock)
    async with demo.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert isinstance(demo.screen, InboxScreen)
    one_agent = team_app(service)
    async with one_agent.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        # one agent on a file is one person's inbox; a PostgreSQL database is shared: ask
        shared = service.db.dialect == "postgresql"
        assert isinstance(one_agent.screen, ChoiceScreen if shared else InboxScreen)
    assert service.ctx.agent_id is None
    await service.agents.add("Marie")
    demo = InboxApp(service, Settings(mode="demo"), clock=service.ctx.clock)
    async with demo.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert isinstance(demo.screen, InboxScreen)


async def test_a_configured_agent_is_not_asked_for(ids, service) -> None:
    marie = await service.agents.add("Marie")
    service.ctx.agent_id = marie.id  # what InboxService.connect does with agent = "Marie"
    app = team_app(service, agent="Marie")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)


# -- assignment ----------------------------------------------------------------------------


async def test_assign_from_the_unassigned_queue_and_back(app, ids, service) -> None:
    camille = ids["agent"]
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        app.screen.query_one(Sidebar).post_message(Sidebar.Picked(None, View.UNASSIGNED))
        await settle(pilot)
        assert "Jean Martin" not in names(app)  # Camille's already
        assert rows(app)[0][1:3] == ["SMS", "Marie Dupont"]
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ChoiceScreen)
        options = app.screen.query_one(OptionList)
        labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert labels == ["Camille", "Nobody (unassigned queue)"]
        await pilot.press("enter")
        await settle(pilot)
        assert ["SMS", "Marie Dupont"] not in [r[1:3] for r in rows(app)]  # left the queue

        app.screen.query_one(Sidebar).post_message(Sidebar.Picked(None, View.ALL))
        await settle(pilot)
        marie_row = next(r for r in rows(app) if r[2] == "Marie Dupont" and r[1] == "SMS")
        assert marie_row[ASSIGNEE] == "Camille"
        await open_conversation(app, pilot, ids["marie_sms"])
        assert "Camille" in static_text(app, "#title")
        await pilot.press("a", "down", "enter")
        await settle(pilot)
        assert static_text(app, "#title").endswith("· unassigned · Paris time")
    assert (await service.conversations.get(ids["marie_sms"])).assignee_id is None
    trail = await service.audit.recent(5, ("conversation", ids["marie_sms"]))
    moves = [(e.details["from"], e.details["to"]) for e in trail if e.action == "assign"]
    assert moves[:2] == [(camille, None), (None, camille)]
