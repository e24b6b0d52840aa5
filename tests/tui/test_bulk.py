"""Bulk actions (issue 19, item 4): tag rows, act on the tagged set in one audited call, undo."""

from __future__ import annotations

from textual.widgets import Input

from core import i18n
from core.domain.enums import ConversationStatus, Priority
from inbox_app.screens.choice import ChoiceScreen
from inbox_app.screens.prompt import PromptScreen
from inbox_app.widgets.inbox.row_cells import TAG_MARK
from tests.tui.helpers import rows, settle, static_text


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def _tag_two(app, pilot) -> list[int]:
    """Tag the first two rows (space, then t); their ids."""
    await settle(pilot)
    table = app.screen.table
    table.move_cursor(row=0)
    first = table.current_id()
    await pilot.press("space")
    second = table.current_id()
    await pilot.press("t")
    await settle(pilot)
    assert first != second
    return [first, second]


async def _pick(pilot, app, key: str) -> None:
    """Choose ``key`` in the open ChoiceScreen."""
    assert isinstance(app.screen, ChoiceScreen)
    app.screen.query_one("OptionList").highlighted = [k for k, _ in app.screen.choices].index(key)
    await pilot.press("enter")
    await settle(pilot)


async def test_tag_close_and_undo(app, ids, service, lang) -> None:
    async with app.run_test(size=(160, 48)) as pilot:
        tagged = await _tag_two(app, pilot)
        assert i18n.t("bulkui.tagged", count=2) in static_text(app, "#title")
        marked = [r for r in rows(app) if r[2].startswith(TAG_MARK)]
        assert len(marked) == 2
        before = {i: (await service.conversations.get(i)).status for i in tagged}
        await pilot.press("semicolon")
        await settle(pilot)
        await _pick(pilot, app, "close")
        for conversation_id in tagged:
            assert (await service.conversations.get(conversation_id)).status == "closed"
        name = i18n.t("bulkui.action.close")
        assert i18n.t("bulkui.done", action=name, count=2) in notes(app)
        assert i18n.t("bulkui.tagged", count=2) not in static_text(app, "#title")
        assert not any(r[2].startswith(TAG_MARK) for r in rows(app))
        entries = await service.audit.recent(limit=10)
        assert sorted(e.subject_id for e in entries if e.action == "bulk_close") == sorted(tagged)
        await pilot.press("u")
        await settle(pilot)
        for conversation_id in tagged:
            conversation = await service.conversations.get(conversation_id)
            assert conversation.status == before[conversation_id]
            assert conversation.closed_at is None
        assert i18n.t("bulkui.undone", action=name, count=2) in notes(app)
        entries = await service.audit.recent(limit=10)
        assert sorted(e.subject_id for e in entries if e.action == "bulk_undo") == sorted(tagged)
        await pilot.press("u")
        await settle(pilot)
        assert i18n.t("bulkui.nothing_to_undo") in notes(app)


async def test_label_priority_assign_snooze(app, ids, service, lang) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        tagged = await _tag_two(app, pilot)
        before = {i: await service.conversations.get(i) for i in tagged}
        await pilot.press("semicolon")
        await settle(pilot)
        await _pick(pilot, app, "label")
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one(Input).value = "relance"
        await pilot.press("enter")
        await settle(pilot)
        for i in tagged:
            labels = (await service.conversations.get(i)).labels
            assert set(labels) == {*before[i].labels, "relance"}
        await pilot.press("u")  # the labels come back as they were
        await settle(pilot)
        for i in tagged:
            assert (await service.conversations.get(i)).labels == before[i].labels

        for conversation_id in tagged:
            app.screen.table.toggle_tag(conversation_id, app.now())
        await pilot.press("semicolon")
        await settle(pilot)
        await _pick(pilot, app, "priority")
        assert app.screen.query_one("OptionList").highlighted == 2  # Medium, not Urgent
        await _pick(pilot, app, "low")
        for i in tagged:
            assert (await service.conversations.get(i)).priority == Priority.LOW

        for conversation_id in tagged:
            app.screen.table.toggle_tag(conversation_id, app.now())
        await pilot.press("semicolon")
        await settle(pilot)
        await _pick(pilot, app, "assign")
        await _pick(pilot, app, str(ids["agent"]))
        for i in tagged:
            assert (await service.conversations.get(i)).assignee_id == ids["agent"]

        for conversation_id in tagged:
            app.screen.table.toggle_tag(conversation_id, app.now())
        await pilot.press("semicolon")
        await settle(pilot)
        await _pick(pilot, app, "snooze")
        await _pick(pilot, app, "tomorrow")
        for i in tagged:
            conversation = await service.conversations.get(i)
            assert conversation.status == ConversationStatus.SNOOZED
            assert conversation.snoozed_until > service.ctx.now()
        await pilot.press("u")
        await settle(pilot)
        for i in tagged:
            conversation = await service.conversations.get(i)
            assert conversation.status == before[i].status and conversation.snoozed_until is None
            assert conversation.assignee_id == ids["agent"]  # only the last action is undone


async def test_acting_with_nothing_tagged_says_how(app, ids, lang) -> None:
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("semicolon")
        await settle(pilot)
        assert not isinstance(app.screen, ChoiceScreen)
        assert i18n.t("bulkui.none_tagged") in notes(app)
        tagged = await _tag_two(app, pilot)
        await pilot.press("escape")  # Esc clears the tags too
        await settle(pilot)
        assert not app.screen.table.tagged and tagged
        assert i18n.t("bulkui.tagged", count=2) not in static_text(app, "#title")
