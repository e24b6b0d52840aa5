"""The crash test: a worker process killed (SIGKILL) at random points during a 1,000-message
broadcast. After restarts, every message was sent exactly once or is shown as "outcome unknown":
none lost, none sent twice."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, MessageStatus, MessageType, OutboxStatus
from core.outbox.worker import OutboxWorker, reference_of
from core.service import InboxService
from core.storage import tables as t
from core.storage.database import Database
from tests.conftest import FakeClock
from tests.integration.outbox.crash_worker import provider, read_sends
from tests.integration.outbox.databases import crash_database
from tests.unit.outbox.fakes import FakeRuntime

RECIPIENTS = 1000
ROOT = Path(__file__).resolve().parents[3]
WORKER = Path(__file__).with_name("crash_worker.py")


async def _broadcast(db: Database) -> tuple[InboxService, str]:
    service = await InboxService.connect(db, "crash")
    await service.tenant_settings.save_channel(Channel.SMS)
    settings = await service.tenant_settings.get()
    settings.quiet_hours.enabled = False  # the worker processes run on the wall clock
    await service.tenant_settings.save(settings)
    async with db.session() as session:
        session.add_all(
            t.ProspectRow(
                tenant_id=service.ctx.tenant_id,
                display_name=f"Prospect {i}",
                phone=f"+336{i:08d}",
                opted_out_channels=[],
            )
            for i in range(RECIPIENTS)
        )
    async with db.session() as session:
        ids = (await session.execute(select(t.ProspectRow.id))).scalars().all()
    draft = ReplyDraft(text="Portes ouvertes samedi", message_type=MessageType.NOTIFICATION)
    return service, await service.outbound.broadcast(ids, draft)


async def _kill_at_random(
    url: str, sends: Path, lookup: bool, rounds: int, schema: str | None
) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [str(WORKER), url, "crash", str(sends), "1" if lookup else "0"]
    kills = 0
    for _ in range(rounds):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, *args, *([schema] if schema else []), env=env
        )
        await asyncio.sleep(random.uniform(0.8, 2.5))
        if proc.returncode is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        await proc.wait()
        await asyncio.sleep(1.1)  # let the dead worker's leases expire
    return kills


@pytest.mark.slow
@pytest.mark.parametrize(
    ("engine", "lookup"),
    [
        ("sqlite", False),
        ("sqlite", True),
        pytest.param("postgresql", False, marks=pytest.mark.postgres),
    ],
    ids=["sqlite-no-lookup", "sqlite-lookup", "postgresql-no-lookup"],
)
async def test_killed_worker_never_loses_nor_doubles_a_message(
    tmp_path: Path, engine: str, lookup: bool
) -> None:
    sends = tmp_path / "sends.txt"
    async with crash_database(tmp_path, engine, "crash") as (db, url, schema):
        service, broadcast_id = await _broadcast(db)
        kills = await _kill_at_random(url, sends, lookup, rounds=5, schema=schema)
        assert kills >= 3
        # Restart for good (in-process) and let it finish, leases long expired.
        clock = FakeClock(service.ctx.now() + timedelta(hours=1))
        service.ctx.clock = clock
        runtime = FakeRuntime(provider(sends, lookup))
        await OutboxWorker(service.ctx, runtime, batch_size=200).drain()

        async with db.session() as session:
            rows = (await session.execute(select(t.OutboxRow))).scalars().all()
            messages = {m.id: m for m in (await session.execute(select(t.MessageRow))).scalars()}
        sent = Counter(read_sends(sends))
        assert len(rows) == RECIPIENTS  # none lost
        assert max(sent.values()) == 1  # none sent twice
        by_status = Counter(r.status for r in rows)
        assert set(by_status) <= {OutboxStatus.SENT, OutboxStatus.UNKNOWN}, by_status
        for row in rows:
            reference = reference_of(row)
            message = messages[row.message_id]
            if row.status == OutboxStatus.SENT:
                assert sent[reference] == 1
                assert message.status == MessageStatus.SENT
                assert message.provider_message_id == f"SM{reference}"
            else:
                assert sent[reference] <= 1
                assert message.status == MessageStatus.UNKNOWN
        if lookup:
            assert by_status[OutboxStatus.SENT] == RECIPIENTS  # every interruption reconciled
        progress = await service.outbound.broadcast_progress(broadcast_id)
        assert progress.sent + progress.unknown == RECIPIENTS and progress.remaining == 0
