"""Round-robin auto-assignment of new conversations, alone and with two relays at once."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from core.domain.enums import Channel
from core.domain.models import ProspectDraft
from core.storage import tables as t
from core.storage.timeline import conversation_for
from core.team.assignment import assign_new_conversation
from tests.integration.team.helpers import open_core


async def _enable(service) -> None:
    settings = await service.tenant_settings.get()
    settings.auto_assign = True
    await service.tenant_settings.save(settings)


async def _new_conversation(service, n: int) -> int | None:
    """What the ingest does for a first message: a prospect, a conversation, an assignee."""
    prospect = await service.prospects.create(
        ProspectDraft(display_name=f"Prospect {n}", phone=f"+336123400{n:02d}")
    )
    async with service.db.session() as session:
        row = await session.get(t.ProspectRow, prospect.id)
        conversation = await conversation_for(session, row, Channel.SMS, None)
        return await assign_new_conversation(session, conversation, at=service.ctx.now())


async def test_agents_take_turns_and_inactive_ones_are_skipped(service) -> None:
    claire = await service.agents.add("Claire")
    marc = await service.agents.add("Marc")
    away = await service.agents.add("Paul")
    ines = await service.agents.add("Inès")
    async with service.db.session() as session:
        (await session.get(t.AgentRow, away.id)).active = False
    await _enable(service)
    picked = [await _new_conversation(service, n) for n in range(7)]
    order = [claire.id, marc.id, ines.id]
    assert picked == (order * 3)[:7]
    entries = await service.audit.recent(limit=10, subject=("conversation", None))
    assert [e.details["to"] for e in reversed(entries) if e.action == "auto_assign"] == picked


async def test_nothing_is_assigned_when_off_or_without_agents(service) -> None:
    assert await _new_conversation(service, 1) is None  # off by default
    await _enable(service)
    assert await _new_conversation(service, 2) is None  # on, but nobody to give it to


async def test_a_conversation_already_assigned_keeps_its_agent(service) -> None:
    claire = await service.agents.add("Claire")
    await service.agents.add("Marc")
    await _enable(service)
    prospect = await service.prospects.create(ProspectDraft(display_name="X", phone="+33612345678"))
    async with service.db.session() as session:
        row = await session.get(t.ProspectRow, prospect.id)
        conversation = await conversation_for(session, row, Channel.SMS, None)
        conversation.assignee_id = claire.id
        assert await assign_new_conversation(session, conversation) is None
        assert conversation.assignee_id == claire.id


@pytest.mark.postgres
async def test_two_relays_at_once_share_the_work_fairly(pg_schema) -> None:
    relays = [await open_core(pg_schema), await open_core(pg_schema)]
    try:
        agents = [await relays[0].agents.add(name) for name in ("A", "B", "C", "D")]
        await _enable(relays[0])

        async def relay(index: int) -> list[int | None]:
            service = relays[index]
            return [await _new_conversation(service, index * 50 + n) for n in range(10)]

        first, second = await asyncio.gather(relay(0), relay(1))
        picks = first + second
        assert Counter(picks) == {agent.id: 5 for agent in agents}
        entries = await relays[0].audit.recent(limit=100)
        turns = [e.details["to"] for e in reversed(entries) if e.action == "auto_assign"]
        cycle = [agent.id for agent in agents]
        assert turns == (cycle * 5)[:20]  # in commit order, a strict rotation
    finally:
        for service in relays:
            await service.close()
