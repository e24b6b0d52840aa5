"""Two relays on one PostgreSQL database, both fed every webhook of the sandbox.

As behind a load balancer that retries on the other node, each signed Twilio webhook reaches
both relays (``core.relay.run.serve``, each relay with its own database handle); then both
relays' ingest workers work through the backlog at once. Each event is stored and applied
once, each prospect exists once, the messages of a conversation are in the order the prospect
sent them, and an agent's app open on the same database hears of every one through NOTIFY.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
import time_machine
from sqlalchemy import func, select

from core.channels.registry import adapter_names
from core.channels.runtime import ChannelRuntime
from core.config.settings import ProviderEndpoints
from core.domain.enums import Channel, Provider
from core.events import MessageChanged
from core.ingest.worker import IngestWorker
from core.relay.run import serve
from core.relay.server import RelayConfig, runtime_lookup
from core.service import InboxService
from core.storage import tables as t
from providers.sandbox import start_sandbox
from tests.integration.team.helpers import open_core

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        "twilio_sms" not in adapter_names(), reason="the provider adapters are not installed"
    ),
]

PUBLIC_URL = "https://relay.agence.example"
PHONES = [f"+3361234560{n}" for n in range(4)]
MESSAGES_EACH = 6


class CountingWorker(IngestWorker):
    """The ingest worker, counting the events it claimed and applied."""

    applied = 0

    async def _apply(self, step: Any, row: Any) -> list[str]:
        self.applied += 1
        await asyncio.sleep(0.005)  # let the other worker run meanwhile, as on two machines
        return await super()._apply(step, row)

    async def _inbound(self, session: Any, rows: Any, *args: Any, **kwargs: Any) -> Any:
        """New messages applied as a group (``core.ingest.grouped``) count once each; a group
        that failed and was applied one by one was counted by ``_apply``."""
        await asyncio.sleep(0.005)
        before = self.applied
        steps = await super()._inbound(session, rows, *args, **kwargs)
        if self.applied == before:
            self.applied += len(steps)
        return steps


@asynccontextmanager
async def relay_on(
    service: InboxService, sandbox: Any
) -> AsyncIterator[tuple[str, CountingWorker]]:
    """``serve`` for ``service`` on a free loopback port; yields its URL and an ingest worker.

    The relay stores only: the test starts the two ingest workers once everything is stored,
    so that they compete for the same backlog.
    """
    runtime = ChannelRuntime(
        await service.tenant_settings.channels(),
        lambda config, _names: sandbox.credentials[str(config.provider)],
        ProviderEndpoints(),
        callback_url=PUBLIC_URL,
    )
    config = RelayConfig(tenant_id=service.ctx.tenant_id, public_url=PUBLIC_URL)
    bound: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()
    task = asyncio.create_task(
        serve(
            service,
            runtime_lookup(runtime),
            config,
            host="127.0.0.1",
            port=0,
            stop=stop,
            ingest=False,
            on_ready=lambda _host, port: bound.set_result(port),
        )
    )
    try:
        port = await asyncio.wait_for(bound, 30)
        yield f"http://127.0.0.1:{port}", CountingWorker(service.ctx, runtime_lookup(runtime))
    finally:
        stop.set()
        await task
        await runtime.close()


async def _count(service: InboxService, query) -> int:
    async with service.db.session() as session:
        return (await session.execute(query)).scalar_one()


#: Office hours on a Tuesday: Sara's out-of-hours reply would add one message per conversation.
OFFICE_HOURS = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


@time_machine.travel(OFFICE_HOURS, tick=True)
async def test_every_sandbox_event_is_ingested_once_and_in_order(pg_schema) -> None:
    sandbox = await start_sandbox(PUBLIC_URL)
    cores = [await open_core(pg_schema) for _ in range(3)]
    app, relay_a, relay_b = cores
    try:
        for channel, name in ((Channel.SMS, "twilio_sms"), (Channel.WHATSAPP, "twilio_whatsapp")):
            options = {"base_url": sandbox.base_urls["twilio"], **sandbox.options[name]}
            await app.tenant_settings.save_channel(
                channel, provider=Provider.TWILIO, config=options
            )
        box = sandbox.twilio
        for n in range(MESSAGES_EACH):
            for phone in PHONES:
                box.enqueue_inbound(phone, box.sms_number, f"SMS {n}")
                if n % 2 == 0:
                    box.enqueue_inbound(phone, box.whatsapp_number, f"WA {n}", whatsapp=True)
        webhooks = list(sandbox.pending)
        sandbox.pending.clear()
        expected = len(PHONES) * (MESSAGES_EACH + (MESSAGES_EACH + 1) // 2)
        assert len(webhooks) == expected

        async with (
            relay_on(relay_a, sandbox) as (url_a, worker_a),
            relay_on(relay_b, sandbox) as (url_b, worker_b),
            app.bus.subscribe() as at_app,
            aiohttp.ClientSession() as http,
        ):

            async def post(base: str, webhook: Any) -> int:
                path = webhook.url.removeprefix(PUBLIC_URL)
                async with http.post(base + path, data=webhook.body, headers=webhook.headers) as r:
                    return r.status

            for index, webhook in enumerate(webhooks):
                first, second = (url_a, url_b) if index % 2 else (url_b, url_a)
                answers = await asyncio.gather(post(first, webhook), post(second, webhook))
                assert answers == [200, 200]

            stored = select(func.count()).select_from(t.InboundEventRow)
            assert await _count(app, stored) == expected  # each once, whichever relay had it
            await asyncio.gather(worker_a.run_once(), worker_b.run_once())
            assert worker_a.applied + worker_b.applied == expected  # each event applied once
            # Both usually take part; which one gets each event is the scheduler's business
            # (a loaded machine may let one drain the backlog), so that is not asserted.
            pending = select(func.count()).where(t.InboundEventRow.status != "processed")
            assert await _count(app, pending) == 0
            heard: set[int] = set()
            async with asyncio.timeout(30):
                while len(heard) < expected:
                    event = await at_app.get()
                    if isinstance(event, MessageChanged):
                        heard.add(event.message_id)

        assert await _count(app, stored) == expected
        assert await _count(app, select(func.max(t.InboundEventRow.attempts))) == 1
        async with app.db.session() as session:
            prospects = (await session.execute(select(t.ProspectRow))).scalars().all()
            messages = (
                (await session.execute(select(t.MessageRow).order_by(t.MessageRow.id)))
                .scalars()
                .all()
            )
            conversations = (await session.execute(select(t.ConversationRow))).scalars().all()
        assert sorted(p.phone for p in prospects) == PHONES
        assert len(conversations) == 2 * len(PHONES)
        assert len(messages) == expected and heard == {m.id for m in messages}
        for conversation in conversations:
            texts = [m.content for m in messages if m.conversation_id == conversation.id]
            prefix = "SMS" if conversation.channel_type == Channel.SMS else "WA"
            step = 1 if prefix == "SMS" else 2
            assert texts == [f"{prefix} {n}" for n in range(0, MESSAGES_EACH, step)]
            assert conversation.unread_count == conversation.message_count == len(texts)
    finally:
        for core in cores:
            await core.close()
        await sandbox.stop()
