"""Drafts (issue 19, item 2): Esc keeps what was written, across screens and restarts."""

from __future__ import annotations

from textual.widgets import TextArea

from core import i18n
from inbox_app.app import InboxApp
from inbox_app.screens.composer import ComposerScreen
from inbox_app.screens.conversation import ConversationScreen
from tests.tui.helpers import rows, settle

TEXT = "Bonjour, je reviens vers vous demain pour"


async def _open_composer(app, pilot, conversation_id: int) -> None:
    await settle(pilot)
    app.push_screen(ConversationScreen(conversation_id))
    await settle(pilot)
    await pilot.press("r")
    await settle(pilot)
    assert isinstance(app.screen, ComposerScreen)


def _row_of(app, name: str) -> list[str]:
    return next(r for r in rows(app) if r[2] == name)


async def test_esc_keeps_the_draft_across_screens_and_restarts(app, ids, service, lang) -> None:
    mark = i18n.t("ui.inbox.draft_mark")
    async with app.run_test(size=(160, 48)) as pilot:
        await _open_composer(app, pilot, ids["marie_sms"])
        app.screen.query_one("#body", TextArea).text = TEXT
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConversationScreen)
        assert i18n.t("ui.composer.draft_kept") in [str(n.message) for n in app._notifications]
        await pilot.press("r")  # another screen and back: the text is still there
        await settle(pilot)
        assert app.screen.query_one("#body", TextArea).text == TEXT
        await pilot.press("escape")
        await settle(pilot)
        app.pop_screen()
        await settle(pilot)
        assert _row_of(app, "Marie Dupont")[4].startswith(mark.strip())
        others = [r for r in rows(app) if r[2] != "Marie Dupont"]
        assert others and not any(r[4].startswith(mark.strip()) for r in others)
    again = InboxApp(service, clock=service.ctx.clock)  # a restart: the draft is in the database
    async with again.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert _row_of(again, "Marie Dupont")[4].startswith(mark.strip())
        await _open_composer(again, pilot, ids["marie_sms"])
        assert again.screen.query_one("#body", TextArea).text == TEXT


async def test_the_discard_key_throws_the_draft_away(app, ids, service, lang) -> None:
    await service.drafts.keep(ids["marie_sms"], TEXT)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_composer(app, pilot, ids["marie_sms"])
        assert app.screen.query_one("#body", TextArea).text == TEXT
        assert "discard_draft" in {b.id for b in ComposerScreen.BINDINGS}
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert isinstance(app.screen, ConversationScreen)
        assert i18n.t("ui.composer.draft_discarded") in [str(n.message) for n in app._notifications]
        app.pop_screen()
        await settle(pilot)
        mark = i18n.t("ui.inbox.draft_mark").strip()
        assert not any(r[4].startswith(mark) for r in rows(app))
    assert await service.drafts.get(ids["marie_sms"]) is None


async def test_an_empty_composer_leaves_no_draft(app, ids, service) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_composer(app, pilot, ids["marie_sms"])
        await pilot.press("escape")
        await settle(pilot)
    assert await service.drafts.get(ids["marie_sms"]) is None


async def test_sending_forgets_the_draft(app, ids, service) -> None:
    await service.drafts.keep(ids["marie_sms"], TEXT)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_composer(app, pilot, ids["marie_sms"])
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, ComposerScreen)
    assert await service.drafts.get(ids["marie_sms"]) is None
