"""The outbox worker's and ingest's batch reads use the index that holds the few rows they want,
not the tenant's (issue 17): SQLite plans without statistics, and with ``tenant_id = ?`` among
the conditions it walked every outbox row (every message) of the tenant at each round."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from core.channels.adapter import StatusUpdate
from core.domain.enums import Channel, MessageStatus, Provider
from core.domain.tenant_settings import TenantSettings
from core.ingest.lookups import read_lookups
from core.outbox.held import release_quiet_held
from core.outbox.worker import OutboxWorker
from core.storage.database import Database
from tests.unit.outbox.conftest import Scene
from tests.unit.outbox.fakes import FakeAdapter, FakeRuntime
from tests.unit.outbox.test_batches import queue

#: The single-column tenant indexes: each holds every row of the tenant.
TENANT_INDEXES = ("ix_outbox_tenant_id", "ix_messages_tenant_id", "ix_messages_tenant_created")
#: The single-column tenant indexes migration 0013 dropped: a composite index answers by tenant.
DROPPED = ("ix_outbox_tenant_id", "ix_messages_tenant_id", "ix_conversations_tenant_id")


def _recording(db: Database) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.split()[0].upper() in ("SELECT", "UPDATE"):
            seen.append((statement, params))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    return seen


async def _plans(db: Database, seen: list[tuple[str, Any]]) -> dict[str, str]:
    plans = {}
    async with db.engine.connect() as conn:
        for statement, params in seen:
            rows = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
            plans[statement] = " / ".join(str(row[-1]) for row in rows)
    return plans


def _walking_the_tenant(plans: dict[str, str], table: str) -> list[str]:
    return [
        f"{statement[:120]} → {plan}"
        for statement, plan in plans.items()
        if f" {table} " in f" {plan} " and any(index in plan for index in TENANT_INDEXES)
    ]


async def test_a_round_reads_the_outbox_by_status_or_id(scene: Scene) -> None:
    db = scene.service.db
    if db.dialect != "sqlite":
        pytest.skip("SQLite's planner")
    await queue(scene, 3)
    adapter = FakeAdapter(Channel.SMS)
    worker = OutboxWorker(scene.service.ctx, FakeRuntime(adapter), worker_id="w1")
    seen = _recording(db)
    assert await worker.run_once() == 3
    plans = await _plans(db, seen)
    assert any("outbox" in plan for plan in plans.values())
    assert _walking_the_tenant(plans, "outbox") == []


async def test_a_batch_of_status_callbacks_finds_its_messages_by_provider_id(
    scene: Scene,
) -> None:
    db = scene.service.db
    if db.dialect != "sqlite":
        pytest.skip("SQLite's planner")
    events = [
        StatusUpdate(Provider.TWILIO, Channel.SMS, f"SM{i}", MessageStatus.DELIVERED)
        for i in range(3)
    ]
    seen = _recording(db)
    async with db.session() as session:
        await read_lookups(session, scene.service.ctx.tenant_id, events)
    plans = await _plans(db, seen)
    assert any("messages" in plan for plan in plans.values())
    assert _walking_the_tenant(plans, "messages") == []


async def test_a_broadcasts_progress_and_the_held_sends_read_only_their_rows(scene: Scene) -> None:
    """Each read by tenant and broadcast (or status) walked every outbox row of the tenant
    through the tenant index before 0013 dropped it: now the broadcast's (status's) index."""
    db = scene.service.db
    if db.dialect != "sqlite":
        pytest.skip("SQLite's planner")
    await queue(scene, 3)
    seen = _recording(db)
    await scene.service.outbound.broadcast_progress("b1")
    async with db.session() as session:
        ctx = scene.service.ctx
        await release_quiet_held(session, ctx.tenant_id, TenantSettings(), ctx.now())
    plans = await _plans(db, seen)
    outbox = [plan for plan in plans.values() if " outbox " in f" {plan} "]
    assert any("ix_outbox_broadcast" in plan for plan in outbox), outbox
    assert any("ix_outbox_due" in plan for plan in outbox), outbox
    assert _walking_the_tenant(plans, "outbox") == []


async def test_the_dropped_tenant_indexes_are_gone(scene: Scene) -> None:
    """Each would take an entry per message, conversation or outbox row for no read."""
    async with scene.service.db.engine.connect() as conn:
        names = await conn.run_sync(
            lambda sync: {
                index["name"]
                for table in ("messages", "conversations", "outbox")
                for index in sa.inspect(sync).get_indexes(table)
            }
        )
    assert names and names.isdisjoint(DROPPED)
