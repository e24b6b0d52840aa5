"""The database going away under a running app core: every connection of the core is killed
(``pg_terminate_backend``, as a server restart does) twice while its outbox worker sends a
broadcast through the sandbox, once in the middle of recording a send the provider took and once
in the middle of starting one. The live link goes offline, comes back and asks for a resync; the
worker keeps going; no message is lost or sent twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select, text

from core.channels.registry import adapter_names
from core.channels.runtime import ChannelRuntime
from core.config.settings import ProviderEndpoints
from core.domain.enums import OutboxStatus
from core.events import ConnectionState, Resync
from core.outbox import worker as worker_module
from core.outbox.ratelimit import RateLimiters
from core.outbox.worker import OutboxWorker
from core.service import InboxService
from core.storage import tables as t
from core.storage.database import Database
from providers.sandbox import start_sandbox
from tests.conftest import FakeClock
from tests.integration.team.helpers import broadcast_sms, next_event

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        "twilio_sms" not in adapter_names(), reason="the provider adapters are not installed"
    ),
]

RECIPIENTS = 300
LEASE_SECONDS = 60


async def _open(schema: Any, application_name: str) -> Database:
    """A handle on ``schema`` whose connections are named, so that only they are killed."""
    settings = {"search_path": schema.name, "application_name": application_name}
    return await Database.open(schema.base_url, connect_args={"server_settings": settings})


async def _restart(admin: Database, application_name: str, listener_pid: int) -> int:
    """Kill the core's pooled connections and its listening one; returns how many."""
    async with admin.engine.begin() as conn:
        killed = await conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :name OR pid = :listener"
            ),
            {"name": application_name, "listener": listener_pid},
        )
        return len(killed.all())


def _posts(sandbox: Any) -> list[Any]:
    return [r for r in sandbox.requests("twilio", "Messages") if r.method == "POST"]


async def test_a_restart_while_sending_loses_nothing_and_sends_nothing_twice(
    pg_schema, monkeypatch, caplog
) -> None:
    name = f"coccinelle-test-{uuid.uuid4().hex[:8]}"
    clock = FakeClock()
    sandbox = await start_sandbox(None)
    admin = await pg_schema.open()
    db = await _open(pg_schema, name)
    service = await InboxService.connect(db, "acme", clock=clock)
    service.team.bridge._retry_delays = (0.05, 0.2, 0.5)
    runtime: ChannelRuntime | None = None
    stop = asyncio.Event()
    task: asyncio.Task[None] | None = None
    try:
        await broadcast_sms(service, sandbox, RECIPIENTS, "Visite virtuelle en ligne")
        await service.team.start()
        runtime = ChannelRuntime(
            await service.tenant_settings.channels(),
            lambda config, _names: sandbox.credentials[str(config.provider)],
            ProviderEndpoints(),
        )
        worker = OutboxWorker(
            service.ctx,
            runtime,
            lease_seconds=LEASE_SECONDS,
            poll_seconds=0.05,
            limiters=RateLimiters(burst=RECIPIENTS),
        )
        # The worker reads a slice of its batch (rows and messages) when marking it sending and
        # when recording the results (again when the database refused them); 300 rows in
        # batches of 20, sliced 15 + 5 at the SMS pace, make 60 calls or more. The server
        # "restarts" inside those transactions, a fifth of the way in and then half way.
        restart_at = {12: asyncio.Event(), 31: asyncio.Event()}
        calls = [0]
        real_read = worker_module._rows_and_messages

        async def read_then_restart(session, ids):
            calls[0] += 1
            if calls[0] in restart_at:
                listener = service.team.bridge._connection
                assert listener is not None
                assert await _restart(admin, name, listener.get_server_pid()) >= 2
                restart_at[calls[0]].set()
            return await real_read(session, ids)

        monkeypatch.setattr(worker_module, "_rows_and_messages", read_then_restart)
        async with service.bus.subscribe() as events:
            task = asyncio.create_task(worker.run_forever(stop))
            for restarted in restart_at.values():
                await asyncio.wait_for(restarted.wait(), 120)
                await next_event(events, lambda e: e == ConnectionState(False), timeout=30)
                await next_event(events, lambda e: e == ConnectionState(True), timeout=30)
                await next_event(events, lambda e: isinstance(e, Resync), timeout=30)

            # Rows the worker held when its connections died are free again once their lease
            # has expired; the injected clock moves past it until everything is settled.
            async with asyncio.timeout(180):
                while (await _statuses(admin))[OutboxStatus.SENT] < RECIPIENTS:
                    assert not task.done(), "the worker stopped"
                    clock.advance(seconds=LEASE_SECONDS + 1)
                    await asyncio.sleep(0.2)

        assert await _statuses(admin) == Counter({OutboxStatus.SENT: RECIPIENTS})
        per_recipient = Counter(r.body["To"][0] for r in _posts(sandbox))
        assert len(per_recipient) == RECIPIENTS and set(per_recipient.values()) == {1}
        assert service.team.online is True
        # both restarts hit the worker mid-transaction: a round failed, or a batch's results
        # were refused and written again after a pause (``OutboxWorker._record``)
        hit = [
            r
            for r in caplog.records
            if r.getMessage() == "outbox worker round failed"
            or r.getMessage().startswith("outbox: results of")
        ]
        assert len(hit) >= 2
    finally:
        stop.set()
        if task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 30)
        if runtime is not None:
            await runtime.close()
        await service.close()
        await admin.close()
        await sandbox.stop()


async def _statuses(db: Database) -> Counter[str]:
    async with db.session() as session:
        query = select(t.OutboxRow.status, func.count()).group_by(t.OutboxRow.status)
        return Counter({status: n for status, n in await session.execute(query)})
