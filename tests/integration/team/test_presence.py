"""Two agents opening the same conversation see who else is in it."""

from __future__ import annotations

import pytest

from core.events import PresenceChanged
from tests.factories import add_message, add_prospect
from tests.integration.team.helpers import next_event, open_core, until

pytestmark = pytest.mark.postgres


@pytest.fixture
async def agents(pg_schema):
    first = await open_core(pg_schema)
    for name in ("Claire", "Marc", "Inès"):
        await first.agents.add(name)
    prospect = await add_prospect(first, phone="+33612345678")
    conversation, _ = await add_message(first, prospect, "Bonjour")
    await first.close()
    opened = []

    async def core(name):
        service = await open_core(pg_schema, name)
        opened.append(service)
        return service

    try:
        yield core, conversation
    finally:
        for service in opened:
            await service.close()


async def test_agents_in_the_same_conversation_see_each_other(agents) -> None:
    core, conversation = agents
    claire, marc = await core("Claire"), await core("Marc")
    async with marc.bus.subscribe() as at_marc:
        await claire.team.presence.viewing(conversation)
        await next_event(at_marc, lambda e: e == PresenceChanged(conversation))
    assert marc.team.presence.others_in(conversation) == ["Claire"]
    await marc.team.presence.viewing(conversation)
    await until(lambda: claire.team.presence.others_in(conversation) == ["Marc"])
    assert marc.team.presence.others_in(conversation) == ["Claire"]  # never oneself


async def test_leaving_and_closing_the_app_are_seen(agents) -> None:
    core, conversation = agents
    claire, marc = await core("Claire"), await core("Marc")
    await claire.team.presence.viewing(conversation)
    await until(lambda: marc.team.presence.others_in(conversation) == ["Claire"])
    await claire.team.presence.viewing(None)
    await until(lambda: marc.team.presence.others_in(conversation) == [])
    await claire.team.presence.viewing(conversation)
    await until(lambda: marc.team.presence.others_in(conversation) == ["Claire"])
    async with marc.bus.subscribe() as at_marc:
        await claire.close()
        await next_event(at_marc, lambda e: e == PresenceChanged(conversation))
    assert marc.team.presence.others_in(conversation) == []


async def test_an_app_opened_later_learns_who_is_already_there(agents) -> None:
    core, conversation = agents
    claire = await core("Claire")
    await claire.team.presence.viewing(conversation)
    ines = await core("Inès")
    await until(lambda: ines.team.presence.others_in(conversation) == ["Claire"])


async def test_presence_expires_without_heartbeat(agents) -> None:
    core, conversation = agents
    claire, marc = await core("Claire"), await core("Marc")
    now = [1000.0]
    marc.team.presence.clock = lambda: now[0]
    await claire.team.presence.viewing(conversation)
    await until(lambda: marc.team.presence.others_in(conversation) == ["Claire"])
    async with marc.bus.subscribe() as at_marc:
        now[0] += 31  # Claire's app stopped sending heartbeats (crashed, unplugged)
        assert marc.team.presence.others_in(conversation) == []
        marc.team.presence.prune()
        assert at_marc.get_nowait() == PresenceChanged(conversation)
