"""An agent's first day (issue 19): no surprises from a single key."""

from __future__ import annotations

import pytest
from textual.widgets import OptionList

from core import i18n
from core.domain.enums import MessageKind, Priority
from inbox_app.screens.choice import ChoiceScreen
from inbox_app.screens.conversation import ConversationScreen
from inbox_app.screens.inbox import InboxScreen
from tests.tui.helpers import settle


async def _calls(service, conversation_id: int) -> int:
    thread = await service.conversations.thread(conversation_id)
    return sum(1 for m in thread.messages if m.kind == MessageKind.CALL)


def _question(app) -> str:
    assert isinstance(app.screen, ChoiceScreen)
    return app.screen.title_text


async def test_placing_a_call_asks_first(app, ids, service, lang) -> None:
    before = await _calls(service, ids["luc_voice"])
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(ConversationScreen(ids["luc_voice"]))
        await settle(pilot)
        await pilot.press("C")
        await settle(pilot)
        question = _question(app)
        assert question == i18n.t("ui.ask.call", name="Luc Moreau", phone="+33611223344")
        await pilot.press("enter")  # Enter alone: "No" is highlighted, nothing rings
        await settle(pilot)
        assert isinstance(app.screen, ConversationScreen)
        assert await _calls(service, ids["luc_voice"]) == before
        await pilot.press("C")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert await _calls(service, ids["luc_voice"]) == before
        await pilot.press("C")
        await settle(pilot)
        await pilot.press("up", "enter")  # "Yes, call now"
        await settle(pilot)
        assert isinstance(app.screen, ConversationScreen)
    assert await _calls(service, ids["luc_voice"]) == before + 1


async def test_q_in_the_inbox_asks_before_quitting(app, ids, lang) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("q")
        await settle(pilot)
        assert _question(app) == i18n.t("ui.ask.quit")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen) and app.is_running
        await pilot.press("q")
        await settle(pilot)
        await pilot.press("down", "enter")  # "No, stay"
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen) and app.is_running
        await pilot.press("q")
        await settle(pilot)
        await pilot.press("enter")  # "Yes, quit"
        await pilot.pause()
    assert app.return_code == 0


async def test_the_priority_dialog_opens_on_the_current_priority(app, ids, service) -> None:
    # Marie's conversation is Urgent in the scenario, Luc's is the default Medium.
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.push_screen(ConversationScreen(ids["luc_voice"]))
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        options = app.screen.query_one(OptionList)
        assert options.get_option_at_index(options.highlighted).id == Priority.MEDIUM.value
        await pilot.press("enter")  # Enter alone changes nothing
        await settle(pilot)
        assert isinstance(app.screen, ConversationScreen)
    assert (await service.conversations.get(ids["luc_voice"])).priority == Priority.MEDIUM
    audit = await service.audit.recent(20, ("conversation", ids["luc_voice"]))
    assert not [e for e in audit if e.action == "set_priority"]


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_both_dates_of_the_filter_dialog_are_visible(app, ids, size) -> None:
    from textual.widgets import Input

    from inbox_app.screens.filters import FilterScreen

    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, FilterScreen)
        since = app.screen.query_one("#since", Input)
        until = app.screen.query_one("#until", Input)
        screen = app.screen.region
        for field in (since, until):
            region = field.region
            assert region.width >= 12 and region.height >= 1
            assert screen.contains_region(region)
        assert since.region.right <= until.region.x  # side by side, neither hides the other


async def test_notes_and_replies_show_the_agents_name(app, ids, service, lang) -> None:
    from textual.widgets import Static

    from inbox_app.widgets.conversation.timeline import Timeline

    service.ctx.agent_id = ids["agent"]
    await service.messages.add_note(ids["marie_sms"], "Rappeler après la visite.")
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        app.push_screen(ConversationScreen(ids["marie_sms"]))
        await settle(pilot)
        statics = [str(w.render()) for w in app.screen.query(Static)]
        items = [item.text for item in app.screen.query_one(Timeline).items]
        shown = "\n".join([*statics, *items])
    note_header = next(
        line
        for line in shown.splitlines()
        if i18n.t("ui.thread.note") in line and "·" in line and "Camille" in line
    )
    assert "✎" in note_header
    # the scenario's earlier note has no known writer: it keeps the generic word
    assert i18n.t("common.sender.agent") in shown
