"""Chaos: the relay, the ingest worker and the outbox worker are SIGKILLed at random moments
while the sandbox sends a mixed load (inbound SMS and email, a broadcast and its status callbacks,
personas answering). After restarts the database is consistent:

- every webhook the relay answered 2xx was processed, once;
- every queued message was sent once, or is marked "outcome unknown" (never twice);
- every conversation's unread count is its number of inbound messages.

Runs on SQLite and, when ``COCCINELLE_TEST_PG_URL`` is set, on PostgreSQL (a database of its own,
created and dropped here, since three processes share it). Short by default; ``--chaos-long`` or
``COCCINELLE_CHAOS_LONG=1`` runs more rounds and more traffic.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import socket
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, make_url, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from core.channels.registry import adapter_names
from core.channels.runtime import ChannelRuntime
from core.config.settings import ProviderEndpoints
from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, MessageKind, MessageType, OutboxStatus, Provider
from core.ingest.worker import IngestWorker
from core.outbox.ratelimit import RateLimiters
from core.outbox.worker import OutboxWorker, reference_of
from core.relay.server import runtime_lookup
from core.service import InboxService
from core.storage import tables as t
from core.storage.database import Database, sqlite_url
from tests.conftest import PG_URL, FakeClock

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif("twilio_sms" not in adapter_names(), reason="adapters not installed"),
]

ROOT = Path(__file__).resolve().parents[2]
TENANT = "chaos"
ROLES = ("relay", "ingest", "outbox")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Processes:
    """The three processes, each restartable; kills counted per role."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.running: dict[str, asyncio.subprocess.Process] = {}
        self.kills: Counter[str] = Counter()

    async def start(self, role: str) -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.hardening.chaos_proc", role,
            cwd=ROOT, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line.strip() == b"READY", (role, line)
        self.running[role] = process

    async def kill(self, role: str) -> None:
        process = self.running.pop(role, None)
        if process is None:
            return
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
            self.kills[role] += 1
        await process.wait()

    async def stop_all(self) -> None:
        for role in list(self.running):
            await self.kill(role)


async def _prepare(db: Database, sandbox, recipients: int) -> tuple[InboxService, list[int]]:
    service = await InboxService.connect(db, TENANT)
    await service.tenant_settings.save_channel(
        Channel.SMS,
        provider=Provider.TWILIO,
        config={"base_url": sandbox.base_urls["twilio"], **sandbox.options["twilio_sms"]},
    )
    await service.tenant_settings.save_channel(
        Channel.EMAIL,
        provider=Provider.SENDGRID,
        config={"base_url": sandbox.base_urls["sendgrid"], **sandbox.options["sendgrid"]},
    )
    settings = await service.tenant_settings.get()
    settings.quiet_hours.enabled = False  # the processes run on the wall clock
    await service.tenant_settings.save(settings)
    async with db.session() as session:
        session.add_all(
            t.ProspectRow(
                tenant_id=service.ctx.tenant_id,
                display_name=f"Prospect {i}",
                phone=f"+3361300{i:04d}",
                opted_out_channels=[],
            )
            for i in range(recipients)
        )
    async with db.session() as session:
        ids = list((await session.execute(select(t.ProspectRow.id))).scalars().all())
    return service, ids


def _inbound_load(sandbox, round_no: int, size: int) -> None:
    """A round of prospects writing in by SMS and by email."""
    for i in range(size):
        phone = f"+3361400{(round_no * size + i) % 50:04d}"
        sandbox.twilio.enqueue_inbound(phone, sandbox.twilio.sms_number, f"r{round_no} sms {i}")
    original = {"from": {"email": sandbox.sendgrid.from_email}, "subject": "Visite", "headers": {}}
    for i in range(max(1, size // 3)):
        sandbox.sendgrid.enqueue_inbound(
            f"prospect{i % 7}@example.fr", f"Prospect {i}", original, f"r{round_no} mail {i}"
        )


@asynccontextmanager
async def chaos_database(kind: str, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database for the three processes: an SQLite file, or a PostgreSQL
    database created for this run (next to ``COCCINELLE_TEST_PG_URL``'s) and dropped after."""
    if kind == "sqlite":
        yield sqlite_url(tmp_path / "chaos.db")
        return
    if not PG_URL:
        pytest.skip("COCCINELLE_TEST_PG_URL is not set")
    base = make_url(PG_URL)
    name = f"chaos_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(base, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def _chaos(url: str, rounds: int, recipients: int, inbound: int) -> None:
    from providers.sandbox import start_sandbox

    port = _free_port()
    relay_url = f"http://127.0.0.1:{port}"
    sandbox = await start_sandbox(relay_url)
    db = await Database.open(url)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CHAOS_DATABASE_URL": url,
        "CHAOS_TENANT": TENANT,
        "CHAOS_PORT": str(port),
        "CHAOS_SANDBOX": json.dumps(sandbox.credentials),
    }
    procs = Processes(env)
    try:
        service, prospects = await _prepare(db, sandbox, recipients)
        for role in ROLES:
            await procs.start(role)
        rng = random.Random()
        draft = ReplyDraft(text="Portes ouvertes samedi", message_type=MessageType.NOTIFICATION)
        for round_no in range(rounds):
            await service.outbound.broadcast(prospects[round_no::rounds], draft)
            _inbound_load(sandbox, round_no, inbound)
            flushing = asyncio.create_task(sandbox.flush())
            await asyncio.sleep(rng.uniform(0.05, 0.6))
            victim = rng.choice(ROLES)
            await procs.kill(victim)
            await flushing
            await asyncio.sleep(rng.uniform(0.0, 0.3))
            await procs.start(victim)
            await asyncio.sleep(1.1)  # a dead outbox worker's leases expire
        quiet = 0
        for _ in range(80):  # let the restarted processes finish the traffic
            quiet = 0 if await sandbox.flush() else quiet + 1
            if quiet >= 8:
                break
            await asyncio.sleep(0.25)
        await procs.stop_all()
        assert sum(procs.kills.values()) >= rounds // 2, procs.kills

        await _settle(service, sandbox, relay_url)
        await _check(service, sandbox)
    finally:
        await procs.stop_all()
        await db.close()
        await sandbox.stop()


async def _settle(service: InboxService, sandbox, relay_url: str) -> None:
    """Finish in-process what the killed processes left: ingest pending events, and run the
    outbox with leases long expired (interrupted rows are reconciled, never resent blindly)."""
    runtime = ChannelRuntime(
        await service.tenant_settings.channels(),
        lambda config, _names: sandbox.credentials[str(config.provider)],
        ProviderEndpoints(),
        callback_url=relay_url,
    )
    try:
        service.ctx.clock = FakeClock(service.ctx.now() + timedelta(hours=1))
        await IngestWorker(service.ctx, runtime_lookup(runtime)).run_once()
        # The sandbox has no send rate to respect: no waiting between sends.
        limiters = RateLimiters(burst=100_000)
        await OutboxWorker(service.ctx, runtime, batch_size=200, limiters=limiters).drain()
    finally:
        await runtime.close()


def _sends_by_reference(sandbox) -> Counter[str]:
    """How many times the sandbox (Twilio SMS, SendGrid) accepted a message per reference."""
    counts: Counter[str] = Counter()
    for request in sandbox.requests("twilio", "Messages.json"):
        if request.method != "POST":
            continue
        callback = (request.body.get("StatusCallback") or [""])[0]
        ref = parse_qs(urlsplit(callback).query).get("ref", [""])[0]
        counts[ref] += 1
    for request in sandbox.requests("sendgrid", "mail/send"):
        if request.method != "POST" or not isinstance(request.body, dict):
            continue
        for person in request.body.get("personalizations") or []:
            counts[(person.get("custom_args") or {}).get("reference", "")] += 1
    return counts


def _acknowledged_message_sids(sandbox) -> set[str]:
    """Inbound SMS whose webhook the relay answered 2xx."""
    sids = set()
    for hook in sandbox.delivered:
        if hook.provider == "twilio" and hook.status == 200 and "/inbound" in hook.url:
            sid = parse_qs(hook.body.decode()).get("MessageSid", [""])[0]
            sids.add(sid)
    return sids


async def _check(service: InboxService, sandbox) -> None:
    async with service.db.session() as session:
        events = (await session.execute(select(t.InboundEventRow))).scalars().all()
        outbox = (await session.execute(select(t.OutboxRow))).scalars().all()
        inbound_ids = (
            (
                await session.execute(
                    select(t.MessageRow.provider_message_id).where(
                        t.MessageRow.direction == "inbound", t.MessageRow.provider == "twilio"
                    )
                )
            )
            .scalars()
            .all()
        )
        unread = (
            await session.execute(select(t.ConversationRow.id, t.ConversationRow.unread_count))
        ).all()
        counted = dict(
            (
                await session.execute(
                    select(t.MessageRow.conversation_id, func.count())
                    .where(
                        t.MessageRow.direction == "inbound",
                        t.MessageRow.kind.not_in([MessageKind.NOTE, MessageKind.EVENT]),
                    )
                    .group_by(t.MessageRow.conversation_id)
                )
            ).all()
        )

    # Every 2xx-acknowledged event processed, once.
    assert events, "no event reached the relay"
    assert Counter(e.status for e in events) == Counter({"processed": len(events)}), Counter(
        e.status for e in events
    )
    acknowledged = _acknowledged_message_sids(sandbox)
    stored = Counter(inbound_ids)
    assert acknowledged, "no inbound SMS was acknowledged"
    assert acknowledged <= set(stored), "an event answered 2xx was lost"
    assert max(stored.values()) == 1, "an inbound message was stored twice"

    # Every queued message sent once, or marked outcome unknown.
    sends = _sends_by_reference(sandbox)
    assert outbox
    by_status = Counter(row.status for row in outbox)
    assert set(by_status) <= {OutboxStatus.SENT, OutboxStatus.UNKNOWN}, by_status
    for row in outbox:
        reference = reference_of(row)
        if row.status == OutboxStatus.SENT:
            assert sends[reference] == 1, (reference, sends[reference], row.attempts_log)
        else:
            assert sends[reference] <= 1, (reference, sends[reference], row.attempts_log)

    # No conversation with a wrong unread count (nobody read anything).
    wrong = {cid: (n, counted.get(cid, 0)) for cid, n in unread if n != counted.get(cid, 0)}
    assert not wrong, f"conversations with a wrong unread count: {wrong}"


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
async def test_chaos_kills_lose_nothing_and_double_nothing(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    long = request.config.getoption("--chaos-long") or os.environ.get("COCCINELLE_CHAOS_LONG")
    async with chaos_database(database, tmp_path) as url:
        if long:
            await _chaos(url, rounds=30, recipients=300, inbound=20)
        else:
            await _chaos(url, rounds=6, recipients=40, inbound=6)
