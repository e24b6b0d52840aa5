"""The keymap override of config.toml, and j/k/g/G in every list (issue 19)."""

from __future__ import annotations

import pytest
from textual.widgets import OptionList

from core.config.settings import Settings
from inbox_app.app import InboxApp
from inbox_app.keymap import KeymapError, check_keymap, known_ids
from inbox_app.screens.choice import ChoiceScreen
from inbox_app.screens.conversation import ConversationScreen
from inbox_app.screens.inbox import InboxScreen
from inbox_app.widgets.inbox.sidebar import Sidebar
from tests.tui.helpers import settle, static_text


def app_with(service, keymap: dict[str, str]) -> InboxApp:
    settings = Settings(keymap=keymap)
    return InboxApp(service, settings, clock=service.ctx.clock)


def test_the_ids_of_the_readme_exist() -> None:
    ids = known_ids()
    for binding_id in ("reply", "sort", "search", "calendar", "help", "list_down", "cancel"):
        assert binding_id in ids
    assert ids["reply"] == "r"


async def test_a_binding_moves_to_the_agents_key(service, ids) -> None:
    app = app_with(service, {"reply": "e"})
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("r")  # no longer the reply key
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)
        await pilot.press("e")
        await settle(pilot)
        assert not isinstance(app.screen, InboxScreen), "e opens the reply"


async def test_an_unknown_id_stops_the_app_with_a_clear_message(service, ids, lang) -> None:
    app = app_with(service, {"inbox.open": "o"})
    said: list[str] = []
    leave = app.exit

    def exit_(*args, **kwargs):
        said.append(str(kwargs.get("message")))
        leave(*args, **kwargs)

    app.exit = exit_
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
    assert app.return_code == 2
    assert "inbox.open" in said[0]
    assert ("Known ids" if lang == "en" else "Identifiants connus") in said[0]


def test_a_key_doing_two_things_on_one_screen_is_refused(lang) -> None:
    with pytest.raises(KeymapError) as caught:
        check_keymap({"reply": "s"})  # s sorts the inbox
    message = str(caught.value)
    assert "reply" in message and "sort" in message
    assert ("two things" if lang == "en" else "deux choses") in message
    with pytest.raises(KeymapError):
        check_keymap({"reply": ""})
    assert check_keymap({"reply": "s", "sort": "r"}) == {"reply": "s", "sort": "r"}  # a swap


async def test_j_k_g_G_in_the_sidebar(app, ids) -> None:
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        sidebar = app.screen.query_one(Sidebar)
        sidebar.focus()
        sidebar.highlighted = 0
        await settle(pilot)
        await pilot.press("j", "j")
        assert sidebar.highlighted == 2
        await pilot.press("k")
        assert sidebar.highlighted == 1
        await pilot.press("G")
        assert sidebar.highlighted == sidebar.option_count - 1
        await pilot.press("g")
        assert sidebar.highlighted == 0


async def test_j_k_g_G_in_a_pick_list(app, ids) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        picked: list[str | None] = []
        choices = [("a", "Alpha"), ("b", "Beta"), ("c", "Gamma"), ("d", "Delta")]
        app.push_screen(ChoiceScreen("?", choices), picked.append)
        await settle(pilot)
        options = app.screen.query_one(OptionList)
        assert app.focused is options
        await pilot.press("G", "k")
        await pilot.press("enter")
        await settle(pilot)
        assert picked == ["c"]


async def test_j_k_still_scroll_the_thread(app, ids) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.push_screen(ConversationScreen(ids["marie_sms"]))
        await settle(pilot)
        await pilot.press("j", "k", "g", "G")  # the thread's own keys first: nothing breaks
        await settle(pilot)
        assert isinstance(app.screen, ConversationScreen)


async def test_the_help_shows_the_agents_keys(service, ids, lang) -> None:
    app = app_with(service, {"reply": "e"})
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        lines = static_text(app, "#keys").splitlines()
        said = next(b.description for b in InboxScreen.BINDINGS if b.id == "reply")
        reply = next(line for line in lines if said in line)
        assert reply.split()[0] == "e"
        assert any(line.split()[:3] == ["g", "/", "G"] for line in lines)
