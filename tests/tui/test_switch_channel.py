"""Switching channel (``w``): previewed before anything is sent, in the prospect's language,
the agent's triage kept, and a link event (not a message) left in the old thread."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from textual.widgets import OptionList, Static, TextArea

from core import i18n
from core.domain.enums import Channel, ConversationStatus, MessageKind, Priority
from core.service.message_counts import count_messages
from core.storage import tables as t
from inbox_app.screens.conversation import ConversationScreen
from inbox_app.screens.switch_channel import SwitchChannelScreen
from inbox_app.widgets.conversation.timeline import Timeline
from tests.integration.campaigns.conftest import text_of, world  # noqa: F401
from tests.tui.helpers import settle
from tests.tui.scenario import NOW
from tests.tui.test_conversation import open_conversation, timeline_text


@contextlib.contextmanager
def ui_language(code: str):
    previous = i18n.language()
    i18n.set_language(code)
    try:
        yield
    finally:
        i18n.set_language(previous)


async def outgoing(service) -> int:
    """How many messages and outbox rows exist (anything queued for a prospect)."""
    async with service.db.session() as session:
        messages = await session.scalar(
            select(func.count())
            .select_from(t.MessageRow)
            .where(t.MessageRow.kind == MessageKind.MESSAGE)
        )
        rows = await session.scalar(select(func.count()).select_from(t.OutboxRow))
        return int(messages or 0) + int(rows or 0)


async def pick(app, pilot, channel: Channel) -> None:
    assert isinstance(app.screen, SwitchChannelScreen)
    options = app.screen.query_one("#targets", OptionList)
    options.highlighted = options.get_option_index(str(channel))
    await pilot.press("enter")
    await settle(pilot)


async def test_escape_after_the_preview_sends_nothing(app, ids, service) -> None:
    before = await outgoing(service)
    conversations = len((await service.conversations.thread(ids["marie_sms"])).related)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_conversation(app, pilot, ids["marie_sms"])
        await pilot.press("w")
        await settle(pilot)
        await pick(app, pilot, Channel.EMAIL)
        preview = app.screen.query_one("#transition", TextArea).text
        assert preview == "Bonjour Marie, je continue notre conversation via E-mail."
        decision = str(app.screen.query_one("#decision", Static).render())
        assert "Email" in decision  # the orchestrator's explanation for the target channel
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, ConversationScreen)
        assert app.screen.conversation_id == ids["marie_sms"]
    assert await outgoing(service) == before
    thread = await service.conversations.thread(ids["marie_sms"])
    assert len(thread.related) == conversations
    assert not [m for m in thread.messages if m.kind == MessageKind.EVENT]


@pytest.mark.parametrize(
    ("ui", "link"),
    [("en", "Conversation continued on Email"), ("fr", "Conversation poursuivie sur E-mail")],
)
async def test_switch_speaks_the_prospects_language_and_keeps_the_triage(
    app,
    ids,
    service,
    world,  # noqa: F811
    ui,
    link,
) -> None:
    await service.conversations.assign(ids["marie_sms"], ids["agent"])
    before = await service.conversations.get(ids["marie_sms"])
    counts = await count_messages(service.ctx, NOW - timedelta(days=7), NOW + timedelta(days=1))
    until = NOW + timedelta(days=1)
    await service.conversations.snooze(ids["marie_sms"], until)
    with ui_language(ui):
        async with app.run_test(size=(120, 40)) as pilot:
            await open_conversation(app, pilot, ids["marie_sms"])
            await pilot.press("w")
            await settle(pilot)
            await pick(app, pilot, Channel.EMAIL)
            area = app.screen.query_one("#transition", TextArea)
            # French prospect (the tenant's language), whatever the agent's UI language
            assert area.text == "Bonjour Marie, je continue notre conversation via E-mail."
            area.text = "Bonjour Marie, je vous écris désormais par e-mail."
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert isinstance(app.screen, ConversationScreen)
            new_id = app.screen.conversation_id
            assert new_id != ids["marie_sms"]
            app.switch_screen(ConversationScreen(ids["marie_sms"]))
            await settle(pilot)
            old_text = timeline_text(app)
            assert link in old_text
            events = [i for i in app.screen.query_one(Timeline).items if i.has_class("event")]
            assert len(events) == 1
    new = await service.conversations.get(new_id)
    assert new.channel == Channel.EMAIL and new.switched_from_id == ids["marie_sms"]
    assert new.priority == Priority.URGENT
    assert sorted(new.labels) == ["acheteur", "visite"]
    assert new.assignee_id == ids["agent"]
    assert new.status == ConversationStatus.SNOOZED and new.snoozed_until == until
    thread = await service.conversations.thread(new_id)
    [sent] = [m for m in thread.messages if m.conversation_id == new_id]
    assert sent.content == "Bonjour Marie, je vous écris désormais par e-mail."
    assert sent.kind == MessageKind.MESSAGE
    [event] = [m for m in thread.messages if m.kind == MessageKind.EVENT]
    assert event.content == ""  # stored as a key and parameters, translated when shown
    assert event.metadata["line"]["key"] == "orchestrator.switch.event"
    await world.outbox.drain()  # the real SendGrid SDK, to the provider sandbox
    [mail] = world.mails_to("marie@example.fr")
    assert "Bonjour Marie, je vous écris désormais par e-mail." in text_of(mail)
    old = await service.conversations.get(ids["marie_sms"])
    assert old.message_count == before.message_count  # the link is no message
    after = await count_messages(service.ctx, NOW - timedelta(days=7), NOW + timedelta(days=1))
    sms = {c.channel: c.sent for c in after}[Channel.SMS]
    assert sms == {c.channel: c.sent for c in counts}[Channel.SMS]  # the link is no SMS sent


async def test_an_empty_transition_switches_without_sending(app, ids, service) -> None:
    before = await outgoing(service)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_conversation(app, pilot, ids["marie_sms"])
        await pilot.press("w")
        await settle(pilot)
        await pick(app, pilot, Channel.WHATSAPP)
        app.screen.query_one("#transition", TextArea).text = "   "
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConversationScreen)
        new_id = app.screen.conversation_id
    assert new_id != ids["marie_sms"]
    assert await outgoing(service) == before
