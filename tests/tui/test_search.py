"""Search: every state with a facet, a snippet per result, matches marked in the thread, n/N."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import i18n
from core.domain.enums import ConversationStatus, Priority
from inbox_app.screens.search_thread import HIGHLIGHT, SearchThreadScreen
from inbox_app.widgets.conversation.timeline import Timeline
from inbox_app.widgets.inbox.conversation_list import ConversationList
from tests.tui.helpers import names, settle, static_text
from tests.tui.scenario import NOW


def marked(text) -> list[str]:
    """The highlighted words of a rich Text."""
    return [text.plain[s.start : s.end] for s in text.spans if str(s.style) == HIGHLIGHT]


@pytest.mark.parametrize("language", ["fr", "en"])
async def test_search_looks_in_every_state_and_the_facet_narrows_it(
    app, ids, service, language
) -> None:
    await service.conversations.set_status(ids["jean_email"], ConversationStatus.CLOSED)
    await service.conversations.snooze(ids["marie_sms"], NOW + timedelta(days=1))
    previous = i18n.language()
    i18n.set_language(language)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            assert "Jean Martin" not in names(app)  # closed: not in the open inbox
            await pilot.press("slash", *"dossier", "enter")
            await settle(pilot)
            assert names(app) == ["Jean Martin"]  # found although closed
            assert i18n.t("searchui.all_states") in static_text(app, "#title")
            await pilot.press("v")  # open only
            await settle(pilot)
            assert names(app) == []
            await pilot.press("v")  # snoozed only
            await settle(pilot)
            assert names(app) == []
            await pilot.press("v")  # closed only
            await settle(pilot)
            assert names(app) == ["Jean Martin"]
            assert i18n.t("common.status.closed") in static_text(app, "#title")
            await pilot.press("v")  # every state again
            await settle(pilot)
            assert names(app) == ["Jean Martin"]

            app.screen.query_one("#search").value = ""
            await pilot.press("slash", *"jeudi", "enter")
            await settle(pilot)
            assert names(app) == ["Marie Dupont"]  # snoozed, found too
    finally:
        i18n.set_language(previous)


async def test_each_result_shows_a_snippet_of_why_it_matched(app, ids) -> None:
    async with app.run_test(size=(160, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"T3", "enter")
        await settle(pilot)
        table = app.screen.query_one(ConversationList)
        assert names(app) == ["Marie Dupont"]
        preview = table.get_row_at(0)[4]
        # the e-mail's last message is "Merci, voici les annonces."; the snippet is the match
        assert "je cherche un T3" in preview.plain
        assert "T3" in [preview.plain[s.start : s.end] for s in preview.spans]
        assert table.summaries[ids["marie_email"]].last_message_preview.startswith("Merci")

        # a change to the conversation redraws its row: the snippet stays
        await app.service.conversations.set_priority(ids["marie_email"], Priority.HIGH)
        await settle(pilot)
        preview = table.get_row_at(0)[4]
        assert "je cherche un T3" in preview.plain
        assert "High" in table.get_row_at(0)[5].plain


async def test_matches_are_marked_in_the_thread_and_n_N_move_between_them(app, ids) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"jeudi", "enter")
        await settle(pilot)
        assert names(app) == ["Marie Dupont"]
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SearchThreadScreen)
        timeline = screen.query_one(Timeline)
        assert len(screen.matches) == 2

        def body(position: int):
            return timeline.items[position].body

        first, second = screen.matches
        assert "visite de jeudi" in body(first).plain and marked(body(first)) == ["jeudi"]
        assert "Oui, jeudi 14h." in body(second).plain and marked(body(second)) == ["jeudi"]
        others = [i for i in range(len(timeline.items)) if i not in screen.matches]
        assert all(not marked(timeline.items[i].body) for i in others)

        assert timeline.index == second  # opens on the newest match
        await pilot.press("N")
        await settle(pilot)
        assert timeline.index == first
        await pilot.press("n")
        await settle(pilot)
        assert timeline.index == second
        await pilot.press("n")  # after the last: the first again
        await settle(pilot)
        assert timeline.index == first
        await pilot.press("q")
        await settle(pilot)
        assert names(app) == ["Marie Dupont"]  # back on the results
