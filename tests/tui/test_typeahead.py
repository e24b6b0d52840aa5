"""Keys typed right after the key that opens a screen reach that screen's input, in order."""

from __future__ import annotations

from textual import events

from inbox_app.screens.composer import ComposerScreen
from inbox_app.screens.new_conversation import NewConversationScreen
from tests.tui.helpers import settle
from tests.tui.test_conversation import open_conversation


def type_at_once(app, text: str) -> None:
    """Keys as a fast typist or a paste sends them: all queued before any is handled."""
    for char in text:
        app.post_message(events.Key(char, char))


async def test_the_first_letters_after_n_reach_the_search(app, ids) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        type_at_once(app, "Nmarie")
        await settle(pilot)
        assert isinstance(app.screen, NewConversationScreen)
        assert app.focused.value == "marie"


async def test_a_reply_typed_right_after_r_is_written_whole(app, ids) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_conversation(app, pilot, ids["marie_sms"])
        type_at_once(app, "rBonjour")
        await settle(pilot)
        assert isinstance(app.screen, ComposerScreen)
        assert app.focused.text == "Bonjour"


async def test_a_reply_typed_right_after_r_goes_after_the_kept_draft(app, ids) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await open_conversation(app, pilot, ids["marie_sms"])
        type_at_once(app, "rPremier jet")
        await settle(pilot)
        await pilot.press("escape")  # keeps the draft
        await settle(pilot)
        type_at_once(app, "r et suite")
        await settle(pilot)
        assert isinstance(app.screen, ComposerScreen)
        assert app.focused.text == "Premier jet et suite"
