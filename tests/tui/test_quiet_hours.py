"""Quiet hours overridden on purpose: a held message sent now by the agent with a reason (audited),
and turning quiet hours off releasing what they held — through the real outbox worker, Twilio
SDK and provider sandbox, at 23:30 Paris on the fake clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from textual.widgets import Input

from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, MessageStatus
from inbox_app.screens.conversation import ConversationScreen
from inbox_app.screens.prompt import PromptScreen
from inbox_app.widgets.conversation.timeline import Timeline
from tests.integration.campaigns.conftest import world  # noqa: F401
from tests.tui.helpers import settle, settle_until
from tests.tui.test_conversation import open_conversation, timeline_text
from tests.tui.test_switch_channel import ui_language

LATE = datetime(2026, 3, 10, 22, 30, tzinfo=UTC)  # 23:30 in Paris: Marie's quiet hours
MARIE = "+33612345678"


async def held_reply(service, conversation_id: int, text: str):
    message = await service.outbound.send_reply(
        conversation_id, ReplyDraft(text=text), channel=Channel.SMS
    )
    assert message.status == MessageStatus.HELD
    return message


@pytest.mark.parametrize(
    ("ui", "hint", "done"),
    [
        ("en", "(S to send now)", "Sent now despite quiet hours"),
        ("fr", "(S pour envoyer maintenant)", "Envoyé maintenant malgré les heures calmes"),
    ],
)
async def test_a_held_message_is_sent_now_with_an_audited_reason(
    app,
    ids,
    world,  # noqa: F811
    clock,
    ui,
    hint,
    done,
) -> None:
    service = world.service
    clock.now = LATE
    held = await held_reply(service, ids["marie_sms"], "Votre dossier est prêt.")
    await world.outbox.drain()
    assert "Votre dossier est prêt." not in world.sms_to(MARIE)  # quiet hours hold it
    with ui_language(ui):
        async with app.run_test(size=(120, 40)) as pilot:
            await open_conversation(app, pilot, ids["marie_sms"])
            assert hint in timeline_text(app)
            timeline = app.screen.query_one(Timeline)
            timeline.index = next(
                i
                for i, item in enumerate(timeline.items)
                if getattr(item, "message", None) is not None and item.message.id == held.id
            )
            await pilot.press("S")
            await settle(pilot)
            assert isinstance(app.screen, PromptScreen)
            await pilot.press("enter")  # no reason: refused in place
            await settle(pilot)
            assert isinstance(app.screen, PromptScreen)
            app.screen.query_one(Input).value = "Le client attend ce document ce soir"
            await pilot.press("enter")
            # the prompt's answer is handled after the screen closes, off any worker
            await settle_until(pilot, lambda: any(done in n.message for n in app._notifications))
            assert isinstance(app.screen, ConversationScreen)
    message = await service.messages.get(held.id)
    assert message.status == MessageStatus.QUEUED
    [entry] = await service.audit.recent(limit=5, subject=("message", held.id))
    assert entry.action == "quiet_hours_override"
    assert entry.details["reason"] == "Le client attend ce document ce soir"
    assert entry.details["held_until"].startswith("2026-03-11T07:00")  # 08:00 Paris
    await world.outbox.drain()
    assert "Votre dossier est prêt." in world.sms_to(MARIE)
    assert (await service.messages.get(held.id)).status == MessageStatus.SENT


async def test_turning_quiet_hours_off_releases_what_they_held(
    ids,
    world,  # noqa: F811
    clock,
) -> None:
    service = world.service
    clock.now = LATE
    first = await held_reply(service, ids["marie_sms"], "Premier message retenu.")
    second = await held_reply(service, ids["marie_sms"], "Second message retenu.")
    await world.outbox.drain()
    assert world.sms_to(MARIE) == []
    settings = await service.tenant_settings.get()
    settings.quiet_hours.enabled = False
    await service.tenant_settings.save(settings)
    for message in (first, second):
        assert (await service.messages.get(message.id)).status == MessageStatus.QUEUED
    await world.outbox.drain()
    assert world.sms_to(MARIE) == ["Premier message retenu.", "Second message retenu."]
