"""A remote core pulls a relay's events into its own database, then processes them."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from core.ingest.worker import IngestWorker
from core.relay.puller import RemotePuller
from core.relay.store import EventWriter
from core.service import InboxService
from core.storage import tables as t
from core.storage.database import Database, sqlite_url
from tests.relay_fakes import FakeAdapters, body, message
from tests.relay_harness import PULL_TOKEN, running_relay


class CrashBeforeAck(RemotePuller):
    """Dies between storing locally and acknowledging."""

    async def acknowledge(self, http, ids):
        raise ConnectionError("killed before the acknowledgement")


async def test_remote_core_pulls_acknowledges_and_ingests(
    service: InboxService, tmp_path: Path
) -> None:
    local_db = await Database.open(sqlite_url(tmp_path / "agent.db"))
    local = await InboxService.connect(local_db, "acme")
    writer = EventWriter(local_db)
    try:
        async with running_relay(service) as relay:
            for i in range(3):
                await relay.post(
                    "/webhooks/twilio/sms", body(message(f"SM{i}", "+33612345678", f"m{i}"))
                )
            puller = RemotePuller(writer, relay.url(""), PULL_TOKEN, local.ctx.tenant_id, wait=0)
            async with aiohttp.ClientSession() as http:
                assert await puller.pull_once(http) == 3
                assert await puller.pull_once(http) == 0  # acknowledged: not delivered again
                # the relay forgets the cursor? a fresh puller still gets nothing acknowledged
                fresh = RemotePuller(writer, relay.url(""), PULL_TOKEN, local.ctx.tenant_id, wait=0)
                assert await fresh.pull_once(http) == 0
            assert all(e.acked for e in await relay.stored())
        await IngestWorker(local.ctx, FakeAdapters()).run_once()
        async with local_db.session() as session:
            query = select(t.MessageRow.content).where(t.MessageRow.direction == "inbound")
            texts = (await session.execute(query)).scalars().all()
        assert sorted(texts) == ["m0", "m1", "m2"]
    finally:
        await writer.close()
        await local_db.close()


async def test_events_stored_but_not_acknowledged_come_again_and_are_stored_once(
    service: InboxService, tmp_path: Path
) -> None:
    local_db = await Database.open(sqlite_url(tmp_path / "agent.db"))
    local = await InboxService.connect(local_db, "acme")
    writer = EventWriter(local_db)
    try:
        async with running_relay(service) as relay:
            await relay.post("/webhooks/twilio/sms", body(message("SM1", "+33612345678", "hi")))
            async with aiohttp.ClientSession() as http:
                # a crash after storing, before acknowledging
                crashing = CrashBeforeAck(
                    writer, relay.url(""), PULL_TOKEN, local.ctx.tenant_id, wait=0
                )
                with pytest.raises(ConnectionError):
                    await crashing.pull_once(http)
                good = RemotePuller(writer, relay.url(""), PULL_TOKEN, local.ctx.tenant_id, wait=0)
                assert await good.pull_once(http) == 1  # delivered again
                again = RemotePuller(writer, relay.url(""), PULL_TOKEN, local.ctx.tenant_id, wait=0)
                assert await again.pull_once(http) == 0
        async with local_db.session() as session:
            stored = (await session.execute(select(t.InboundEventRow))).scalars().all()
        assert len(stored) == 1
    finally:
        await writer.close()
        await local_db.close()
