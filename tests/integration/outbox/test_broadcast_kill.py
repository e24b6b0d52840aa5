"""The broadcast kill test: the process queueing a broadcast (its next chunk read while the last
one is written) killed (SIGKILL) mid-way, then the broadcast resumed: every prospect has
exactly one outbox row and one message, and every conversation counts the messages it has."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.domain.enums import Channel
from core.service import InboxService
from core.storage import tables as t
from core.storage.database import Database
from tests.integration.outbox.broadcast_kill_worker import DRAFT, prospect_ids
from tests.integration.outbox.databases import crash_database

PROSPECTS = 600
CHUNK = 40
ROOT = Path(__file__).resolve().parents[3]
WORKER = Path(__file__).with_name("broadcast_kill_worker.py")


async def _tenant(db: Database) -> InboxService:
    """A tenant with SMS set up and its prospects, every third with a conversation."""
    service = await InboxService.connect(db, "kill")
    await service.tenant_settings.save_channel(Channel.SMS)
    settings = await service.tenant_settings.get()
    settings.quiet_hours.enabled = False
    await service.tenant_settings.save(settings)
    async with db.session() as session:
        prospects = [
            t.ProspectRow(
                tenant_id=service.ctx.tenant_id,
                display_name=f"Prospect {i}",
                phone=f"+336{i:08d}",
                opted_out_channels=[],
            )
            for i in range(PROSPECTS)
        ]
        session.add_all(prospects)
    async with db.session() as session:
        for prospect in prospects[::3]:
            session.add(
                t.ConversationRow(
                    tenant_id=service.ctx.tenant_id,
                    prospect_id=prospect.id,
                    channel_type=Channel.SMS,
                    channel_identifier=prospect.phone,
                )
            )
    return service


async def _queued(db: Database, broadcast_id: str) -> int:
    async with db.session() as session:
        query = select(func.count()).where(t.OutboxRow.broadcast_id == broadcast_id)
        return int(await session.scalar(query) or 0)


async def _kill_mid_broadcast(db: Database, url: str, schema: str | None) -> int:
    """Start the queueing process, kill it once some chunks (not all) are queued; how many
    rows were queued when it died."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [str(WORKER), url, "kill", "bk", str(CHUNK), *([schema] if schema else [])]
    proc = await asyncio.create_subprocess_exec(sys.executable, *args, env=env)
    target = random.randrange(2, PROSPECTS // CHUNK - 3) * CHUNK
    try:
        while await _queued(db, "bk") < target and proc.returncode is None:
            await asyncio.sleep(0.01)
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
        await proc.wait()
    return await _queued(db, "bk")


async def _check_exactly_once(db: Database) -> None:
    async with db.session() as session:
        Out, M, C = t.OutboxRow, t.MessageRow, t.ConversationRow
        rows = (await session.execute(select(Out.prospect_id, Out.message_id))).all()
        messages = (await session.execute(select(M.id, M.conversation_id))).all()
        counts = dict((await session.execute(select(C.id, C.message_count))).all())
    ids = await prospect_ids(db)
    assert Counter(pid for pid, _ in rows) == Counter(ids)  # none lost, none twice
    assert sorted(mid for _, mid in rows) == sorted(mid for mid, _ in messages)
    assert Counter(cid for _, cid in messages) == {c: n for c, n in counts.items() if n}


@pytest.mark.slow
@pytest.mark.parametrize(
    "engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
async def test_a_killed_broadcast_resumed_queues_each_prospect_once(
    tmp_path: Path, engine: str
) -> None:
    async with crash_database(tmp_path, engine, "kill") as (db, url, schema):
        service = await _tenant(db)
        queued = await _kill_mid_broadcast(db, url, schema)
        assert 0 < queued < PROSPECTS and queued % CHUNK == 0  # whole chunks only
        await service.outbound.broadcast(
            await prospect_ids(db), DRAFT, broadcast_id="bk", chunk_size=CHUNK
        )
        await _check_exactly_once(db)
