"""Three outbox workers on one PostgreSQL database share a 2,000-message broadcast.

Each worker has its own database handle (as each agent's app or relay has), and all of them send
through the real Twilio adapter to the sandbox over HTTP. One worker dies mid-way: it marked a
batch sending and sent it concurrently, the provider took every message of it, and the worker
never heard back about one of them, so it recorded none. Once its leases expire the others
reconcile its batch: each message is found at the provider (not sent again). At the end the
sandbox received each recipient's message exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select

from core.channels.registry import adapter_names
from core.channels.runtime import ChannelRuntime
from core.config.settings import ProviderEndpoints
from core.domain.enums import Channel, OutboxStatus
from core.events import EventBus
from core.outbox.ratelimit import RateLimiters
from core.outbox.worker import OutboxWorker
from core.service import InboxService
from core.storage import tables as t
from core.storage.service_context import ServiceContext
from providers.sandbox import start_sandbox
from tests.conftest import FakeClock
from tests.integration.team.helpers import broadcast_sms, until

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        "twilio_sms" not in adapter_names(), reason="the provider adapters are not installed"
    ),
]

RECIPIENTS = 2000
LEASE_SECONDS = 60
DIES_AFTER = 150  # sends by the worker that dies


class Counting:
    """The SMS adapter as one worker sees it: counts its sends; with ``dies_after``, that send
    reaches the provider and then the worker never hears back (it is killed while waiting)."""

    def __init__(self, inner: Any, dies_after: int | None = None) -> None:
        self.inner = inner
        self.sends = 0
        self.answered = 0
        self.dies_after = dies_after
        self.dying = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def send(self, message: Any) -> Any:
        self.sends += 1
        ordinal = self.sends  # sends are concurrent: others are counted while this one waits
        result = await self.inner.send(message)
        if ordinal == self.dies_after:
            self.dying.set()
            await asyncio.Event().wait()  # never returns: the task is cancelled here
        self.answered += 1
        return result


class OneChannel:
    """A runtime giving one worker its ``Counting`` SMS adapter."""

    def __init__(self, runtime: ChannelRuntime, dies_after: int | None = None) -> None:
        self.sms = Counting(runtime.adapter(Channel.SMS), dies_after)

    def adapter(self, channel: Channel) -> Any:
        assert channel == Channel.SMS
        return self.sms


def _runtime(channels: list, sandbox: Any) -> ChannelRuntime:
    return ChannelRuntime(
        channels,
        lambda config, _names: sandbox.credentials[str(config.provider)],
        ProviderEndpoints(),
    )


async def _statuses(service: InboxService) -> Counter[str]:
    async with service.db.session() as session:
        query = select(t.OutboxRow.status, func.count()).group_by(t.OutboxRow.status)
        return Counter({status: n for status, n in await session.execute(query)})


async def test_three_workers_send_each_message_once_though_one_dies(pg_schema) -> None:
    clock = FakeClock()
    sandbox = await start_sandbox(None)
    owner_db = await pg_schema.open()
    service = await InboxService.connect(owner_db, "acme", clock=clock)
    databases, runtimes, tasks = [owner_db], [], []
    try:
        await broadcast_sms(service, sandbox, RECIPIENTS, "Portes ouvertes samedi")
        assert (await _statuses(service))[OutboxStatus.PENDING] == RECIPIENTS
        channels = await service.tenant_settings.channels()
        workers = []
        for name in ("claire", "marc", "relay"):
            db = await pg_schema.open()
            databases.append(db)
            runtimes.append(_runtime(channels, sandbox))
            ctx = ServiceContext(
                db=db, bus=EventBus(), tenant_id=service.ctx.tenant_id, clock=clock
            )
            runtime = OneChannel(runtimes[-1], DIES_AFTER if name == "relay" else None)
            workers.append(
                OutboxWorker(
                    ctx,
                    runtime,
                    worker_id=name,
                    lease_seconds=LEASE_SECONDS,
                    limiters=RateLimiters(burst=RECIPIENTS),  # the sandbox takes any rate
                )
            )
        sms = [worker.runtime.sms for worker in workers]
        dying = sms[2]
        tasks = [asyncio.create_task(worker.drain()) for worker in workers]

        await asyncio.wait_for(dying.dying.wait(), 300)
        # the rest of its batch answered: it waits for that one answer only
        await until(lambda: dying.sends - dying.answered == 1, 30)
        async with owner_db.session() as session:
            held = (
                await session.execute(
                    select(t.OutboxRow.id, t.OutboxRow.status).where(
                        t.OutboxRow.lease_owner == "relay"
                    )
                )
            ).all()
        tasks[2].cancel()  # killed while waiting for the provider's answer
        with contextlib.suppress(asyncio.CancelledError):
            await tasks[2]
        await databases.pop().close()  # and its connections are gone
        # its slice of a batch marked sending together, every send made, no result written;
        # the rest of its batch (a slice at the SMS pace per quarter lease) leased, not started
        statuses = [status for _, status in held]
        assert statuses.count(OutboxStatus.SENDING) > 1
        assert set(statuses) <= {OutboxStatus.SENDING, OutboxStatus.PENDING}

        await asyncio.wait_for(asyncio.gather(*tasks[:2]), 600)
        left = await _statuses(service)
        assert left[OutboxStatus.SENT] == RECIPIENTS - len(held)  # the others wait for the lease

        clock.advance(seconds=LEASE_SECONDS + 1)
        await asyncio.wait_for(asyncio.gather(workers[0].drain(), workers[1].drain()), 300)

        assert await _statuses(service) == Counter({OutboxStatus.SENT: RECIPIENTS})
        posts = [r for r in sandbox.requests("twilio", "Messages") if r.method == "POST"]
        per_recipient = Counter(r.body["To"][0] for r in posts)
        assert len(per_recipient) == RECIPIENTS and set(per_recipient.values()) == {1}
        async with owner_db.session() as session:
            rows = (await session.execute(select(t.OutboxRow))).scalars().all()
        by_id = {row.id: row for row in rows}
        for outbox_id, _status in held:
            outcomes = [entry["outcome"] for entry in by_id[outbox_id].attempts_log]
            # the interrupted batch is found at the provider, not sent again
            assert outcomes == ["sent"] and by_id[outbox_id].attempts == 1
        assert {row.lease_owner for row in rows} == {None}  # no lease left behind
        assert dying.sends >= DIES_AFTER and sms[0].sends and sms[1].sends
        assert sum(adapter.sends for adapter in sms) == RECIPIENTS  # nobody sent one twice
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for runtime in runtimes:
            await runtime.close()
        for db in databases:
            await db.close()
        await sandbox.stop()
