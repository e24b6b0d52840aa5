"""Two agents replying to the same prospect at the same moment from their own apps: both replies
are queued, each app hears of the other's, and the outbox sends each once (sandbox, real SDK)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from core.channels.registry import adapter_names
from core.channels.runtime import ChannelRuntime
from core.config.settings import ProviderEndpoints
from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, MessageStatus, Provider
from core.events import MessageChanged
from core.outbox.worker import OutboxWorker
from providers.sandbox import start_sandbox
from tests.factories import add_message, add_prospect
from tests.integration.team.helpers import next_event, open_core

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        "twilio_sms" not in adapter_names(), reason="the provider adapters are not installed"
    ),
]

PHONE = "+33612345678"


async def test_two_agents_replying_at_once_both_send_and_see_each_other(pg_schema) -> None:
    sandbox = await start_sandbox(None)
    first = await open_core(pg_schema)
    options = {"base_url": sandbox.base_urls["twilio"], **sandbox.options["twilio_sms"]}
    await first.tenant_settings.save_channel(Channel.SMS, provider=Provider.TWILIO, config=options)
    settings = await first.tenant_settings.get()
    settings.quiet_hours.enabled = False  # the replies must go now, whatever the hour
    await first.tenant_settings.save(settings)
    claire_id = (await first.agents.add("Claire")).id
    marc_id = (await first.agents.add("Marc")).id
    prospect = await add_prospect(first, phone=PHONE)
    conversation, _ = await add_message(first, prospect, "Le T3 est-il encore libre ?")
    await first.close()
    claire = await open_core(pg_schema, "Claire")
    marc = await open_core(pg_schema, "Marc")
    runtime = ChannelRuntime(
        await claire.tenant_settings.channels(),
        lambda config, _names: sandbox.credentials[str(config.provider)],
        ProviderEndpoints(),
    )
    try:
        async with claire.bus.subscribe() as at_claire, marc.bus.subscribe() as at_marc:
            mine, theirs = await asyncio.gather(
                claire.outbound.send_reply(conversation, ReplyDraft(text="Oui, visite demain ?")),
                marc.outbound.send_reply(conversation, ReplyDraft(text="Il est libre, oui.")),
            )
            assert mine.status == theirs.status == MessageStatus.QUEUED
            await next_event(at_claire, lambda e: e == MessageChanged(theirs.id, conversation))
            await next_event(at_marc, lambda e: e == MessageChanged(mine.id, conversation))
        for service in (claire, marc):
            thread = await service.conversations.thread(conversation)
            senders = {m.content: m.sender_id for m in thread.messages}
            assert senders["Oui, visite demain ?"] == claire_id
            assert senders["Il est libre, oui."] == marc_id

        workers = [
            OutboxWorker(s.ctx, runtime, worker_id=n) for s, n in ((claire, "c"), (marc, "m"))
        ]
        await asyncio.gather(*(worker.drain() for worker in workers))
        for message in (mine, theirs):
            assert (await claire.messages.get(message.id)).status in (
                MessageStatus.SENT,
                MessageStatus.DELIVERED,
            )
        posts = [r for r in sandbox.requests("twilio", "Messages") if r.method == "POST"]
        assert Counter(r.body["Body"][0] for r in posts) == {
            "Oui, visite demain ?": 1,
            "Il est libre, oui.": 1,
        }
    finally:
        await runtime.close()
        await claire.close()
        await marc.close()
        await sandbox.stop()
