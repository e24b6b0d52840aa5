"""Team mode at scale: N agents' processes and two relays on one PostgreSQL database.

Each agent is a real process running the app's core and engine (``core.bench.team_agent``); the
two relays are real ``coccinelle relay`` processes. Signed Twilio webhooks are posted at a steady
rate, alternately to each relay (as behind a load balancer); every agent reports each message it
hears of. Measured: connections held on the server (at most, idle and under load), webhook 2xx →
heard by every agent (p50/p95/max), updates missed, and the server's transactions per second per
agent, idle and under load.

Needs a PostgreSQL server: ``COCCINELLE_BENCH_PG_URL`` (or ``COCCINELLE_TEST_PG_URL``), a URL
whose user may create databases; a throw-away database is created and dropped. Agents:
``COCCINELLE_BENCH_TEAM_AGENTS`` (default 50).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from sqlalchemy import text

from core.bench.context import BenchContext, Unavailable
from core.bench.pg import fresh_database, server_url
from core.bench.results import Result, Summary, Target, percentile

RATE = 20.0
#: Agents' processes started together (each opens its connections at start).
WAVE = 5
PUBLIC_URL = "https://relay.bench.example"
TENANT = "demo"
#: Seconds left to start-up work, then measured idle.
SETTLE, IDLE = 12.0, 20.0
#: Today's figure from issue 22's measurement (20 idle agents: 136 transactions/s).
BEFORE_TX_PER_AGENT = 136 / 20


@dataclass
class _Run:
    """What the run observed."""

    answered: dict[str, float] = field(default_factory=dict)  # MessageSid -> 2xx time
    errors: int = 0
    connections: list[int] = field(default_factory=list)
    by_role: dict[str, int] = field(default_factory=dict)  # application_name -> most at once
    heard: list[dict[int, float]] = field(default_factory=list)  # per agent: message id -> time
    notified: int = 0  # notifications one listener received under load


async def measure(ctx: BenchContext) -> list[Result]:
    """Start the team, let it idle, post webhooks at ``RATE`` for ``ctx.duration`` seconds."""
    base = server_url()
    agents = int(os.environ.get("COCCINELLE_BENCH_TEAM_AGENTS", "50"))
    async with fresh_database(base, "team") as url:
        return await _measure(url, agents, ctx.duration)


async def _measure(url: str, agents: int, duration: float) -> list[Result]:
    from core.analytics.warmup import RollupWarmer
    from core.channels.registry import SANDBOX_GROUP, load_plugin
    from core.credentials import env_name
    from core.domain.enums import Channel, Provider
    from core.service import InboxService
    from core.storage.database import Database

    sandbox = await load_plugin(SANDBOX_GROUP, "default")(PUBLIC_URL)
    db = await Database.open(url)
    processes: list[asyncio.subprocess.Process] = []
    try:
        service = await InboxService.connect(db, TENANT)
        tenant_id = service.ctx.tenant_id
        options = {"base_url": sandbox.base_urls["twilio"], **sandbox.options["twilio_sms"]}
        await service.tenant_settings.save_channel(
            Channel.SMS, provider=Provider.TWILIO, config=options
        )
        secrets = {
            env_name(TENANT, Channel.SMS, name): value
            for name, value in sandbox.credentials["twilio"].items()
        }
        await RollupWarmer(service.ctx).warm()  # a new database's one-time analytics warm-up
        await db.close()  # the bench's own connections are not the team's
        db = await Database.open(url, name="coccinelle bench", pool_size=1, max_overflow=0)
        run = _Run()
        # Sampled from the first agent's start to the end: start-up is when connections peak.
        sampler = asyncio.create_task(_sample_connections(db, run))
        # The relays are up before the agents arrive, as in a morning: start-up is the peak.
        relays = [await _relay(url, secrets, processes) for _ in range(2)]
        started = []
        for first in range(0, agents, WAVE):  # agents arrive a few at a time, as in a morning
            wave = range(first, min(first + WAVE, agents))
            started += await asyncio.gather(*(_agent(url, secrets, processes) for _ in wave))
        run.heard = [{} for _ in started]
        readers = [asyncio.create_task(_read(p, run.heard[i])) for i, p in enumerate(started)]
        # Start-up work settles; an idle server process reports its counts up to 10 s late.
        await asyncio.sleep(SETTLE)
        idle_tx, idle_conn = await _idle(db, IDLE)
        webhooks = _webhooks(sandbox, int(RATE * duration))
        async with _listening(db, tenant_id, run):
            load = await _load(db, run, relays, webhooks)
        await _drained(db, run, len(webhooks))
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
        for process in started:
            process.terminate()
        await asyncio.gather(*readers)
        ids = await _inbound_ids(db)
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()
        await db.close()
        await sandbox.stop()
    return _results(run, ids, agents, idle_tx, idle_conn, load)


# -- processes ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _env(secrets: dict[str, str]) -> dict[str, str]:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    return {**os.environ, **secrets, "PYTHONPATH": path, "COCCINELLE_LANGUAGE": "en"}


async def _relay(url: str, secrets: dict[str, str], processes: list[Any]) -> str:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "inbox_app.cli", "--mode", "team", "--database-url", url,
        "relay", "--port", str(port), "--public-url", PUBLIC_URL, "--no-send",
        env=_env(secrets), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    processes.append(process)
    assert process.stdout is not None
    async with asyncio.timeout(120):
        while b"listening" not in await process.stdout.readline():
            if process.returncode is not None:
                raise Unavailable("a relay process did not start")
    return f"http://127.0.0.1:{port}"


async def _agent(url: str, secrets: dict[str, str], processes: list[Any]) -> Any:
    errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed once the agent is ready)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "core.bench.team_agent", url, TENANT,
        env=_env(secrets), stdout=asyncio.subprocess.PIPE, stderr=errors,
    )  # fmt: skip
    processes.append(process)
    assert process.stdout is not None
    async with asyncio.timeout(300):
        line = await process.stdout.readline()
    if line.strip() != b"ready":
        errors.seek(0)
        said = errors.read().decode(errors="replace").strip().splitlines()[-3:]
        raise Unavailable(f"an agent's process did not get its live link ({line!r}: {said})")
    errors.close()
    return process


async def _read(process: Any, heard: dict[int, float]) -> None:
    async for line in process.stdout:
        parts = line.split()
        if len(parts) == 2:
            heard.setdefault(int(parts[0]), float(parts[1]))
    await process.wait()


# -- load and sampling ----------------------------------------------------------------------


def _webhooks(sandbox: Any, count: int) -> list[Any]:
    box = sandbox.twilio
    for n in range(count):
        box.enqueue_inbound(f"+3361{n % 500:07d}", box.sms_number, f"Message {n}")
    webhooks = list(sandbox.pending)
    sandbox.pending.clear()
    return webhooks


@contextlib.asynccontextmanager
async def _listening(db: Any, tenant_id: int, run: _Run) -> AsyncIterator[None]:
    """Count the notifications an agent's listener receives meanwhile: PostgreSQL reads each
    in a short transaction of that listener's server process, counted in the server's total."""
    import asyncpg

    from core.team.pg_listen import channel_name, listener_params

    channel = await channel_name(db, tenant_id)
    conn = await asyncpg.connect(**listener_params(db))

    def count(*_args: Any) -> None:
        run.notified += 1

    await conn.add_listener(channel, count)
    try:
        yield
    finally:
        await conn.close()


async def _load(db: Any, run: _Run, relays: list[str], webhooks: list[Any]) -> tuple[float, float]:
    """Post ``webhooks``; the team's transactions per second meanwhile, and the seconds taken."""
    import aiohttp

    before = await _commits(db)
    start = time.monotonic()
    async with aiohttp.ClientSession() as http:

        async def post(index: int, webhook: Any) -> None:
            await asyncio.sleep(max(0.0, start + index / RATE - time.monotonic()))
            target = relays[index % len(relays)] + webhook.url.removeprefix(PUBLIC_URL)
            try:
                async with http.post(target, data=webhook.body, headers=webhook.headers) as r:
                    ok = r.status == 200
            except aiohttp.ClientError:
                ok = False
            if ok:
                sid = parse_qs(webhook.body.decode())["MessageSid"][0]
                run.answered[sid] = time.time()
            else:
                run.errors += 1

        await asyncio.gather(*(post(i, w) for i, w in enumerate(webhooks)))
    elapsed = time.monotonic() - start
    return (await _commits(db) - before) / elapsed, elapsed


async def _drained(db: Any, run: _Run, expected: int, timeout: float = 60.0) -> None:
    """Wait until every stored webhook is applied and every agent heard of every message."""
    query = text("SELECT count(*) FROM inbound_events WHERE status = 'pending'")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with db.engine.connect() as conn:
            pending = (await conn.execute(query)).scalar_one()
        ids = await _inbound_ids(db)
        heard_all = all(set(ids) <= set(heard) for heard in run.heard)
        if pending == 0 and len(ids) >= expected - run.errors and heard_all:
            return
        await asyncio.sleep(0.5)


async def _idle(db: Any, seconds: float) -> tuple[float, int]:
    before = await _commits(db)
    await asyncio.sleep(seconds)
    return (await _commits(db) - before) / seconds, await _connections(db)


async def _commits(db: Any) -> int:
    """Transactions the team ended in this database (committed or rolled back): the server's
    count less the bench's own sampling."""
    query = (
        "SELECT xact_commit + xact_rollback FROM pg_stat_database "
        "WHERE datname = current_database()"
    )
    async with db.engine.connect() as conn:
        await conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        total = int((await conn.execute(text(query))).scalar_one())
    db.bench_tx = getattr(db, "bench_tx", 0) + 1
    return total - db.bench_tx


async def _by_role(db: Any) -> dict[str, int]:
    """Connections to this database by ``application_name``, not counting the bench's own."""
    query = text(
        "SELECT application_name, count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND application_name NOT LIKE 'coccinelle bench%' "
        "GROUP BY application_name"
    )
    db.bench_tx = getattr(db, "bench_tx", 0) + 1
    async with db.engine.connect() as conn:
        return {str(name): int(n) for name, n in (await conn.execute(query)).all()}


async def _connections(db: Any) -> int:
    return sum((await _by_role(db)).values())


async def _sample_connections(db: Any, run: _Run) -> None:
    while True:
        roles = await _by_role(db)
        run.connections.append(sum(roles.values()))
        for name, n in roles.items():
            run.by_role[name] = max(n, run.by_role.get(name, 0))
        await asyncio.sleep(0.1)


async def _inbound_ids(db: Any) -> dict[int, str]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT id, provider_message_id FROM messages "
                "WHERE direction = 'inbound' AND provider_message_id IS NOT NULL"
            )
        )
        return {int(i): str(sid) for i, sid in rows.all()}


# -- results --------------------------------------------------------------------------------


def _results(
    run: _Run,
    ids: dict[int, str],
    agents: int,
    idle_tx: float,
    idle_conn: int,
    load: tuple[float, float],
) -> list[Result]:
    load_tx, load_seconds = load
    notify_reads = run.notified / load_seconds
    load_tx -= notify_reads  # the bench's own listener's
    latencies: list[float] = []
    missed = 0
    for message_id, sid in ids.items():
        answered = run.answered.get(sid)
        if answered is None:
            continue
        for heard in run.heard:
            if message_id in heard:
                latencies.append(max(0.0, (heard[message_id] - answered) * 1000))
            else:
                missed += 1
    if not latencies:
        raise Unavailable("no webhook reached the agents")
    details = {
        "agents": agents,
        "relays": 2,
        "webhooks_per_second": RATE,
        "stored": len(ids),
        "max_latency_ms": round(max(latencies), 1),
        "p50_latency_ms": round(percentile(latencies, 50), 1),
    }
    peak = max(run.connections or [idle_conn])
    per_agent_idle = idle_tx / agents
    per_agent_load = load_tx / agents

    def one(value: float) -> Summary:
        return Summary(value, value, value, 1)

    before = Summary(BEFORE_TX_PER_AGENT, BEFORE_TX_PER_AGENT, BEFORE_TX_PER_AGENT, 1)
    return [
        Result(
            "team.notify_latency", "ms", Summary.of(latencies), stat="p95",
            target=Target("p95", 50), details=details,
        ),
        Result("team.missed_updates", "n", one(missed), stat="value", target=Target("value", 0)),
        Result("team.errors", "n", one(run.errors), stat="value", target=Target("value", 0)),
        Result(
            "team.connections", "n", one(peak), stat="value", target=Target("value", 80),
            details={"idle": idle_conn, "most_by_role": dict(sorted(run.by_role.items()))},
        ),
        Result(
            "team.tx_per_agent_idle", "n", one(per_agent_idle), stat="value",
            reference="team.before", reference_summary=before,
            target=Target("value", BEFORE_TX_PER_AGENT / 5),
        ),
        Result(
            "team.tx_per_agent_load", "n", one(per_agent_load), stat="value",
            details={
                "server_tx_per_second": round(load_tx, 1),
                # Of each agent's share, this many are its listener's server process reading
                # notifications (one short transaction per wake-up), not queries of the agent.
                "notify_reads_per_agent_per_second": round(notify_reads, 2),
            },
        ),
    ]  # fmt: skip
