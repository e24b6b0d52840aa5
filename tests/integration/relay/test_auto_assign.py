"""Conversations that prospects open through the relay are dealt round-robin when asked for."""

from __future__ import annotations

from sqlalchemy import select

from core.service import InboxFilter, InboxService, View
from core.storage import tables as t
from tests.integration.relay.test_ingest_flows import deliver
from tests.relay_fakes import message
from tests.relay_harness import running_relay


async def _auto_assign(service: InboxService, on: bool) -> None:
    settings = await service.tenant_settings.get()
    settings.auto_assign = on
    await service.tenant_settings.save(settings)


async def _assignees(service: InboxService) -> dict[str, int | None]:
    """Each conversation's assignee, by the prospect's phone and the channel."""
    async with service.db.session() as session:
        query = (
            select(
                t.ProspectRow.phone, t.ConversationRow.channel_type, t.ConversationRow.assignee_id
            )
            .join(t.ProspectRow, t.ProspectRow.id == t.ConversationRow.prospect_id)
            .order_by(t.ConversationRow.id)
        )
        return {f"{phone} {channel}": who for phone, channel, who in await session.execute(query)}


def _call(key: str, phone: str) -> dict:
    return {"type": "call", "key": key, "id": key, "phone": phone, "summary": "Rappel"}


async def test_new_conversations_from_the_relay_are_dealt_in_turn(service: InboxService) -> None:
    claire = await service.agents.add("Claire")
    marc = await service.agents.add("Marc")
    await _auto_assign(service, True)
    async with running_relay(service) as relay:
        for n in range(3):
            await deliver(
                relay, "/webhooks/twilio/sms", message(f"SM{n}", f"+3361234567{n}", "Bonjour")
            )
        # a second message in a conversation already dealt changes nothing
        await deliver(relay, "/webhooks/twilio/sms", message("SM9", "+33612345670", "Encore moi"))
        await deliver(relay, "/webhooks/vapi", _call("call-1", "+33612345671"))
    assert await _assignees(service) == {
        "+33612345670 sms": claire.id,
        "+33612345671 sms": marc.id,
        "+33612345672 sms": claire.id,
        "+33612345671 voice": marc.id,
    }
    entries = await service.audit.recent(limit=10)
    assert [e.action for e in entries] == ["auto_assign"] * 4 + ["settings_save"]
    assert all(e.agent_id is None for e in entries[:4])  # done by the system, not an agent

    service.ctx.agent_id = marc.id
    mine = await service.conversations.page(InboxFilter(view=View.MINE))
    assert sorted(c.assignee_name for c in mine.items) == ["Marc", "Marc"]
    assert (await service.conversations.page(InboxFilter(view=View.UNASSIGNED))).items == ()


async def test_without_auto_assignment_they_wait_in_the_unassigned_queue(
    service: InboxService,
) -> None:
    await service.agents.add("Claire")
    async with running_relay(service) as relay:
        await deliver(relay, "/webhooks/twilio/sms", message("SM1", "+33612345678", "Bonjour"))
        await _auto_assign(service, True)
        await _auto_assign(service, False)
        await deliver(relay, "/webhooks/twilio/sms", message("SM2", "+33698765432", "Bonjour"))
    assert set((await _assignees(service)).values()) == {None}
    queue = await service.conversations.page(InboxFilter(view=View.UNASSIGNED))
    assert len(queue.items) == 2
    assert [e.action for e in await service.audit.recent()] == ["settings_save"] * 2
