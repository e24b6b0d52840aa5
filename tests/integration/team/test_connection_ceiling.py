"""What one agent's app costs the shared server: connections by role, and queries when idle."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import event, text

from core.analytics.warmup import HORIZON_DAYS, RollupWarmer
from core.config.settings import DatabaseSettings, Settings
from core.engine import Engine
from core.service import InboxService
from core.storage.database import Database
from core.team.lease import JobLease
from tests.factories import add_message, add_prospect
from tests.integration.team.helpers import open_core, until

pytestmark = pytest.mark.postgres


async def _agent_with_engine(
    pg_schema, name: str, *, warm: bool = False
) -> tuple[InboxService, Engine]:
    """An agent's app as ``coccinelle --mode team`` opens it: the app role's pool, its engine.

    ``warm``: the analytics rollups of the year computed first, as on any day but a new
    database's first (the engine's warmer would otherwise keep the pool busy for its 365
    one-day batches, 20 s and more on a loaded machine, before the pool may go idle)."""
    options = {**DatabaseSettings().engine_options("app"), **pg_schema.engine_options}
    db = await Database.open(pg_schema.base_url, idle_seconds=0.3, name=name, **options)
    service = await InboxService.connect(db, "acme")
    if warm:
        await RollupWarmer(service.ctx, batch_days=HORIZON_DAYS, pause=0).warm()
    await service.team.start()
    settings = Settings(
        mode="team", database_url=pg_schema.base_url, tenant="acme", relay={"enabled": False}
    )
    engine = Engine(service, settings)
    await engine.start()
    return service, engine


async def _held(watcher: Database, name: str) -> dict[str, int]:
    query = text(
        "SELECT application_name, count(*) FROM pg_stat_activity "
        "WHERE application_name LIKE :name GROUP BY application_name"
    )
    async with watcher.engine.connect() as conn:
        rows = (await conn.execute(query, {"name": f"{name}%"})).all()
    return {str(app): int(n) for app, n in rows}


async def test_an_agent_with_its_engine_holds_two_connections_busy_and_one_idle(pg_schema):
    name = f"coccinelle app {uuid.uuid4().hex[:8]}"
    watcher = await pg_schema.open()
    service, engine = await _agent_with_engine(pg_schema, name, warm=True)
    seen: list[dict[str, int]] = []
    sampling = True

    async def sample() -> None:
        while sampling:
            seen.append(await _held(watcher, name))
            await asyncio.sleep(0.02)

    sampler = asyncio.create_task(sample())
    try:
        prospect = await add_prospect(service, phone="+33612345678")
        conversation, _ = await add_message(service, prospect, "Bonjour")
        # A burst of concurrent work waits for the pool instead of opening more connections.
        await asyncio.gather(
            *(service.messages.add_note(conversation, f"note {n}") for n in range(20))
        )
        await until(lambda: seen and seen[-1] == {f"{name} listen": 1}, timeout=30)
    finally:
        sampling = False
        await sampler
        await engine.stop()
        await service.close()
        await watcher.close()
    assert max(n.get(name, 0) for n in seen) <= 2  # pool 1 + 1 at peaks
    assert max(n.get(f"{name} listen", 0) for n in seen) == 1
    assert max(sum(n.values()) for n in seen) <= 3


async def test_an_agent_not_holding_the_jobs_makes_no_pooled_query_when_idle(pg_schema):
    holder_name = f"coccinelle app {uuid.uuid4().hex[:8]}"
    other_name = f"coccinelle app {uuid.uuid4().hex[:8]}"
    watcher = await pg_schema.open()
    holder = await _agent_with_engine(pg_schema, holder_name)
    other = await _agent_with_engine(pg_schema, other_name)
    try:
        assert other[0].team.lease.held == set()  # the first agent runs every job
        await until(lambda: "reminders" in holder[0].team.lease.held)
        assert "outbox" in holder[0].team.lease.held  # one outbox worker among the agents
        await asyncio.sleep(1.0)  # start-up queries done, pooled connection closed for idleness
        quiet = other[0].ctx.db.idle.closed
        await asyncio.sleep(2.0)
        assert await _held(watcher, other_name) == {f"{other_name} listen": 1}
        assert other[0].ctx.db.idle.closed == quiet  # nothing opened a connection meanwhile
    finally:
        for service, engine in (other, holder):
            await engine.stop()
            await service.close()
        await watcher.close()


async def test_waiting_jobs_try_their_locks_in_one_statement_per_round(pg_schema) -> None:
    holder, waiter = await open_core(pg_schema), await open_core(pg_schema)
    jobs = ("reminders", "analytics", "housekeeping", "outbox")
    stop = asyncio.Event()

    async def job(stop_job: asyncio.Event) -> None:
        await stop_job.wait()

    first = JobLease(holder.team.bridge, retry=0.1, grace=0.0)
    second = JobLease(waiter.team.bridge, retry=0.1, grace=0.0)
    tasks = [asyncio.create_task(first.exclusive(name, job)(stop)) for name in jobs]
    try:
        await until(lambda: first.held == set(jobs))
        tasks += [asyncio.create_task(second.exclusive(name, job)(stop)) for name in jobs]
        await asyncio.sleep(1.0)
        assert second.held == set()
        # About ten rounds of 0.1 s, each trying the four locks at once (not forty statements).
        assert 3 <= second.rounds <= 12
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await holder.close()
        await waiter.close()


async def test_messages_outside_a_transaction_go_on_the_live_link_not_the_pool(pg_schema) -> None:
    sender, receiver = await open_core(pg_schema), await open_core(pg_schema)
    got: list[dict] = []
    receiver.team.bridge.on("probe", lambda _origin, data: got.append(data))

    checkouts: list[object] = []
    listen = event.listen
    listen(sender.ctx.db.engine.sync_engine, "checkout", lambda *args: checkouts.append(args))
    try:
        sender.team.bridge.send("probe", {"n": 1})
        await sender.team.bridge.flush()
        await until(lambda: got == [{"n": 1}])
        assert checkouts == []  # no pooled connection was used
        # With its live link gone, the message still goes (through the pool, or the new link).
        sender.team.bridge._connection.terminate()
        sender.team.bridge.send("probe", {"n": 2})
        await sender.team.bridge.flush()
        await until(lambda: got == [{"n": 1}, {"n": 2}])
    finally:
        await sender.close()
        await receiver.close()
