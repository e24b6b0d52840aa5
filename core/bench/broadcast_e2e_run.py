"""One broadcast end to end in a clean process, for ``core.bench.broadcast``:

    python -m core.bench.broadcast_e2e_run DATABASE TENANT COUNT

The demo engine's own pieces on loopback: the relay (with ingest) and the sandbox's providers
in this process, the real SDKs in the adapters. The broadcast is queued while the outbox worker
sends; the sandbox posts each message's status callbacks, signed, to the relay, which stores
them and ingest applies them. Done when every message of the broadcast has a final status
(delivered, read, failed, undelivered). Prints one JSON line: prospects, messages settled, the
queueing and end-to-end seconds, the statuses, and this process's peak resident memory (its
own VmHWM).

Two things differ from the app, both said in the bench's row: the providers' pacing is off
(the sandbox accepts any rate; the SMS adapter's 1/s is a long code's, a provider-scale sender
has a higher-throughput number), and the sandbox's request log is emptied as it goes (it keeps
every request for tests; here it would count a provider's memory as the app's).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from core.bench.broadcast_run import broadcasting_service, first_prospects
from core.bench.startup import vm_hwm_kb
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
#: Give up after this long without any message settling.
STALL_SECONDS = 60.0
#: How often the statuses are counted (a count competes with the workers for the database).
POLL_SECONDS = 1.0


class _Unpaced:
    """A pace that never waits (the sandbox takes any rate)."""

    async def acquire(self) -> float:
        return 0.0


def _engine_class() -> Any:
    from core.engine import Engine
    from core.outbox.ratelimit import RateLimiters
    from core.outbox.worker import OutboxWorker

    class BenchEngine(Engine):
        """The demo engine with only the outbox worker (and the relay's ingest), unpaced."""

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


async def _forget_requests(sandbox: Any, stop: asyncio.Event) -> None:
    while not stop.is_set():
        sandbox.received.clear()
        sandbox.delivered.clear()
        sandbox.exchanges.clear()
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)


async def run(path: Path, tenant: str, count: int) -> dict[str, object]:
    """Queue a broadcast to the first ``count`` prospects of ``path``; wait until settled."""
    from core.config.settings import Settings

    ids = first_prospects(path, count)
    db = await Database.open(sqlite_url(path))
    engine = None
    stop = asyncio.Event()
    try:
        service = await broadcasting_service(db, tenant)
        settings = await service.tenant_settings.get()
        settings.quiet_hours.enabled = False  # the same run at any hour
        await service.tenant_settings.save(settings)
        engine = _engine_class()(service, Settings(mode="demo", tenant=tenant))
        await engine.start()
        forgetting = asyncio.create_task(_forget_requests(engine.sandbox, stop))
        draft = ReplyDraft(text=TEXT, message_type=MessageType.MARKETING)
        start = time.perf_counter()
        broadcast_id = await service.outbound.broadcast(ids, draft)
        queued = time.perf_counter() - start
        counts = await _counts(db, broadcast_id)
        settled, last_change = _settled(counts), time.perf_counter()
        while settled < len(ids) and time.perf_counter() - last_change < STALL_SECONDS:
            await asyncio.sleep(POLL_SECONDS)
            counts = await _counts(db, broadcast_id)
            if _settled(counts) != settled:
                settled, last_change = _settled(counts), time.perf_counter()
        elapsed = last_change - start
        stop.set()
        await forgetting
    finally:
        stop.set()
        if engine is not None:
            await engine.stop()
        await db.close()
    return {
        "prospects": len(ids),
        "settled": settled,
        "queue_seconds": queued,
        "seconds": elapsed,
        "statuses": counts,
        "peak_rss_mb": vm_hwm_kb("self") / 1024,
    }


if __name__ == "__main__":
    found = asyncio.run(run(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
    print(json.dumps(found), flush=True)
