"""The conversation's automation key (Ctrl+R): why it paused, resume, send what it held."""

from __future__ import annotations

from sqlalchemy import select

from core.automation import AutomatedSend, check
from core.domain.enums import Direction, MessageStatus, OutboxStatus, SenderType
from core.storage import tables as t
from core.storage.timeline import append_message
from tests.tui.helpers import settle
from tests.tui.test_booking import choose
from tests.tui.test_conversation import open_conversation, timeline_text


async def pause_with_one_held(service, conversation_id: int) -> int:
    """Six automated messages in an hour: the sixth is held and automation pauses."""
    now = service.ctx.now()
    async with service.db.session() as session:
        conversation = await session.get(t.ConversationRow, conversation_id)
        for n in range(6):
            send = AutomatedSend(
                service.ctx.tenant_id, conversation.prospect_id, conversation_id, f"test:{n}"
            )
            verdict = await check(session, send, now)
        assert verdict.held
        message = await append_message(
            session,
            conversation,
            direction=Direction.OUTBOUND,
            sender_type=SenderType.SARA,
            content="Votre rendez-vous est confirmé.",
            status=MessageStatus.HELD,
            meta={"automation": {"outcome": "held", "reason": "ceiling"}},
            created_at=now,
        )
        session.add(
            t.OutboxRow(
                tenant_id=service.ctx.tenant_id,
                message_id=message.id,
                conversation_id=conversation_id,
                prospect_id=conversation.prospect_id,
                purpose="sara",
                channel_type=conversation.channel_type,
                provider="twilio",
                idempotency_key="held-1",
                payload={"text": "Votre rendez-vous est confirmé."},
                status=OutboxStatus.PAUSED,
                created_at=now,
            )
        )
        await session.commit()
    return message.id


async def test_the_agent_sees_why_and_resumes_sending_what_was_held(app, ids, service) -> None:
    conversation_id = ids["marie_sms"]
    await pause_with_one_held(service, conversation_id)
    async with app.run_test(size=(120, 30)) as pilot:
        await open_conversation(app, pilot, conversation_id)
        assert "Automation paused" in timeline_text(app)
        assert "5 automated messages within an hour (limit 5)" in timeline_text(app)
        assert "held: too many automated messages within an hour (Ctrl+R)" in timeline_text(app)
        await pilot.press("ctrl+r")
        await settle(pilot)
        await choose(app, pilot, "resume_release")
        assert "Automation resumed by" in timeline_text(app)
    state = await service.automation.state(conversation_id)
    assert not state.paused and state.held == 0
    async with service.db.session() as session:
        [row] = (
            await session.execute(
                select(t.OutboxRow).where(t.OutboxRow.idempotency_key == "held-1")
            )
        ).scalars()
    assert row.status == OutboxStatus.PENDING


async def test_the_key_says_so_when_nothing_is_paused(app, ids) -> None:
    async with app.run_test(size=(120, 30)) as pilot:
        await open_conversation(app, pilot, ids["marie_sms"])
        await pilot.press("ctrl+r")
        await settle(pilot)
        assert "not paused" in " ".join(str(n.message) for n in app._notifications)


async def test_the_policy_settings_are_edited_in_the_settings_screen(app, ids, service) -> None:
    from tests.tui.test_settings_analytics import open_settings

    async with app.run_test(size=(120, 40)) as pilot:
        await open_settings(app, pilot)
        assert app.screen.query_one("#auto_max").value == "5"
        app.screen.query_one("#auto_max").value = "3"
        app.screen.query_one("#auto_window").value = "60"
        await pilot.press("ctrl+s")
        await settle(pilot)
        policy = (await service.tenant_settings.get()).automation
        assert (policy.max_per_hour, policy.repeat_window_minutes) == (3, 60)
        app.screen.query_one("#auto_max").value = "0"  # at least one: refused whole
        await pilot.press("ctrl+s")
        await settle(pilot)
    assert (await service.tenant_settings.get()).automation.max_per_hour == 3
