"""One broadcast end to end in a clean process, for ``core.bench.broadcast``:

    python -m core.bench.broadcast_e2e_run DATABASE TENANT COUNT

The demo engine's own pieces on loopback: the relay (with ingest) in this process, the real
SDKs in the adapters, and the sandbox's providers in a process of their own
(``core.bench.sandbox_process``: a provider's CPU and memory are not the app's). The
broadcast is queued while the outbox worker sends; the sandbox posts each message's status
callbacks, signed, to the relay, which stores them and ingest applies them. Done when every
message of the broadcast has a final status (delivered, read, failed, undelivered). Prints
one JSON line: prospects, messages settled, the queueing and end-to-end seconds, the
statuses, this process's CPU seconds over the run and its peak resident memory (its own
VmHWM), and the sandbox process's.

Two things differ from the app, both said in the bench's row: the providers' pacing is off
(the sandbox accepts any rate; the SMS adapter's 1/s is a long code's, a provider-scale sender
has a higher-throughput number), and the sandbox's request log is emptied as it goes (it keeps
every request for tests; here it would only grow).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from asyncio.subprocess import PIPE
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from core.bench.broadcast_run import broadcasting_service, first_prospects
from core.bench.startup import vm_hwm_kb
from core.collector import settle_collector
from core.domain.decision import ReplyDraft
from core.domain.enums import MessageStatus, MessageType
from core.storage import tables as t
from core.storage.database import Database, sqlite_url

TEXT = "Bonjour, nouvelles annonces dans votre quartier cette semaine."
#: A message is settled once its status can no longer move on by a provider's callback.
SETTLED = (
    MessageStatus.DELIVERED,
    MessageStatus.READ,
    MessageStatus.FAILED,
    MessageStatus.UNDELIVERED,
    MessageStatus.EXPIRED,
    MessageStatus.CANCELLED,
)
#: Give up after this long without any message settling: longer than the outbox worker's lease
#: (120 s), so that rows left "sending" by a failed round are seen reconciled, not a stall.
STALL_SECONDS = 180.0
#: How often the statuses are counted (a count competes with the workers for the database).
POLL_SECONDS = 1.0


class _Unpaced:
    """A pace that never waits (the sandbox takes any rate)."""

    async def acquire(self) -> float:
        return 0.0


class _SandboxProcess:
    """The sandbox running in a child process, as the engine sees it (``Engine.sandbox``)."""

    def __init__(self, process: asyncio.subprocess.Process, ready: dict[str, Any]) -> None:
        self.process = process
        self.base_urls: dict[str, str] = ready["base_urls"]
        self.credentials: dict[str, dict[str, str]] = ready["credentials"]
        self.options: dict[str, dict[str, Any]] = ready["options"]
        self.personas = ()
        #: The child's own CPU seconds and peak RSS, once stopped.
        self.usage: dict[str, float] = {}

    @classmethod
    async def start(cls, relay_url: str | None) -> _SandboxProcess:
        """Start the child and wait until it serves."""
        argv = ["-m", "core.bench.sandbox_process", str(relay_url)]
        process = await asyncio.create_subprocess_exec(
            sys.executable, *argv, stdin=PIPE, stdout=PIPE
        )
        assert process.stdout is not None
        line = await process.stdout.readline()
        if not line:
            raise RuntimeError("the sandbox process did not start")
        return cls(process, json.loads(line))

    async def stop(self) -> None:
        """Close the child's input (it stops serving) and read its usage."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        line = await self.process.stdout.readline()
        await self.process.wait()
        if line:
            self.usage = json.loads(line)


def _engine_class() -> Any:
    from core.engine import Engine
    from core.outbox.ratelimit import RateLimiters
    from core.outbox.worker import OutboxWorker

    class BenchEngine(Engine):
        """The demo engine with only the outbox worker (and the relay's ingest), unpaced, and
        the sandbox in a process of its own."""

        async def _start_sandbox(self, channels: list[Any]) -> list[Any]:
            self.sandbox = await _SandboxProcess.start(self.relay_url)
            pointed: list[Any] = self._pointed_at_sandbox(channels)
            return pointed

        def _add_workers(self) -> None:
            assert self.runtime is not None
            limiters = RateLimiters(lambda _name, _rate: _Unpaced())
            worker = OutboxWorker(
                self.service.ctx, self.runtime, self.settings.orchestrator, limiters=limiters
            )
            self.supervisor.add("outbox", worker.run_forever)

    return BenchEngine


async def _counts(db: Database, broadcast_id: str) -> dict[str, int]:
    """The broadcast's messages by status (a refused prospect, with no message: ``none``)."""
    query = (
        select(t.MessageRow.status, func.count())
        .select_from(t.OutboxRow)
        .outerjoin(t.MessageRow, t.MessageRow.id == t.OutboxRow.message_id)
        .where(t.OutboxRow.broadcast_id == broadcast_id)
        .group_by(t.MessageRow.status)
    )
    async with db.session() as session:
        rows = (await session.execute(query)).all()
    return {str(status or "none"): int(n) for status, n in rows}


def _settled(counts: dict[str, int]) -> int:
    return sum(n for status, n in counts.items() if status in SETTLED or status == "none")


async def run(path: Path, tenant: str, count: int) -> dict[str, object]:
    """Queue a broadcast to the first ``count`` prospects of ``path``; wait until settled."""
    from core.config.settings import Settings

    ids = first_prospects(path, count)
    db = await Database.open(sqlite_url(path))
    engine = None
    sandbox: _SandboxProcess | None = None
    try:
        service = await broadcasting_service(db, tenant)
        settings = await service.tenant_settings.get()
        settings.quiet_hours.enabled = False  # the same run at any hour
        await service.tenant_settings.save(settings)
        engine = _engine_class()(service, Settings(mode="demo", tenant=tenant))
        settle_collector()  # as in the app, which starts its engine once settled
        await engine.start()
        sandbox = engine.sandbox
        draft = ReplyDraft(text=TEXT, message_type=MessageType.MARKETING)
        start, cpu = time.perf_counter(), time.process_time()
        broadcast_id = await service.outbound.broadcast(ids, draft)
        queued = time.perf_counter() - start
        counts = await _counts(db, broadcast_id)
        settled, last_change = _settled(counts), time.perf_counter()
        while settled < len(ids) and time.perf_counter() - last_change < STALL_SECONDS:
            await asyncio.sleep(POLL_SECONDS)
            counts = await _counts(db, broadcast_id)
            if _settled(counts) != settled:
                settled, last_change = _settled(counts), time.perf_counter()
        elapsed, cpu = last_change - start, time.process_time() - cpu
    finally:
        if engine is not None:
            await engine.stop()
        await db.close()
    return {
        "prospects": len(ids),
        "settled": settled,
        "queue_seconds": queued,
        "seconds": elapsed,
        "statuses": counts,
        "cpu_seconds": cpu,
        "peak_rss_mb": vm_hwm_kb("self") / 1024,
        "sandbox": sandbox.usage if sandbox is not None else {},
    }


if __name__ == "__main__":
    found = asyncio.run(run(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
    print(json.dumps(found), flush=True)
