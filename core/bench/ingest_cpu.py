"""CPU time of ingest per stored event:
``python -m core.bench.ingest_cpu [N] [--sunday|--weekday] [--url DATABASE_URL]``.

Stores N signed-as-received Twilio SMS events (half from senders known from a first pass,
half from new ones) in a fresh SQLite database (or the empty database ``--url`` names, e.g.
a PostgreSQL one), then times ``IngestWorker.run_once()`` draining them with
``time.process_time`` (the process's CPU, not the wall clock: the machine is shared; on
PostgreSQL the server's CPU is not in it) and the wall clock, and counts its SQL statements.
The clock is pinned to a weekday at 11:00 (open) or to a Sunday (closed: each new
conversation gets the out-of-hours reply through the pipeline).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import event, insert

from core.channels.adapter import AdapterConfig, ChannelAdapter
from core.channels.registry import load_adapter
from core.channels.runtime import adapter_name
from core.domain.enums import Channel, InboundEventStatus, Provider
from core.ingest.worker import IngestWorker
from core.service import InboxService
from core.storage import tables as t
from core.storage.database import Database, sqlite_url

SUNDAY = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
WEEKDAY = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
URL = "https://relay.bench.invalid/webhooks/twilio/sms"


def _adapters() -> Any:
    cls = load_adapter(adapter_name(Channel.SMS, Provider.TWILIO))
    config = AdapterConfig(
        base_url="http://127.0.0.1:9",
        credentials={"account_sid": "AC" + "0" * 32, "auth_token": "x"},
        options={"from_number": "+33700000000"},
    )
    adapter = cls(config)

    def lookup(channel: Channel, provider: Provider | None = None) -> ChannelAdapter | None:
        return adapter if Channel(channel) == Channel.SMS else None

    return lookup


def _event(tenant_id: int, sid: str, sender: str) -> dict[str, Any]:
    form = {
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "To": "+33700000000",
        "Body": "Bonjour, je souhaite visiter l'appartement.",
        "NumMedia": "0",
    }
    headers = {"content-type": "application/x-www-form-urlencoded"}
    return {
        "tenant_id": tenant_id,
        "provider": "twilio",
        "endpoint": "twilio/sms",
        "dedupe_key": sid,
        "content_type": headers["content-type"],
        "headers": {
            "channel": "sms",
            "url": URL,
            "query": {},
            "path_params": {},
            "headers": headers,
        },
        "body": urlencode(form).encode(),
        "status": InboundEventStatus.PENDING,
        "received_at": datetime.now(UTC),
    }


async def _store(service: InboxService, events: list[dict[str, Any]]) -> None:
    async with service.db.session() as session:
        await session.execute(insert(t.InboundEventRow), events)


@dataclass(frozen=True)
class Drain:
    """One backlog drained: CPU and wall seconds, SQL statements, events applied."""

    cpu: float
    wall: float
    statements: int
    done: int

    @property
    def cpu_ms_per_event(self) -> float:
        return 1000 * self.cpu / self.done if self.done else 0.0

    @property
    def rate(self) -> float:
        """Events applied per second of wall clock."""
        return self.done / self.wall if self.wall else 0.0


@contextlib.contextmanager
def _database_url(url: str | None) -> Iterator[str]:
    if url is not None:
        yield url
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield sqlite_url(Path(tmp) / "cpu.db")


async def measure(n: int, now: datetime, url: str | None = None) -> Drain:
    """``run_once`` draining ``n`` stored events (on a fresh SQLite file, or the empty
    database ``url``)."""
    with _database_url(url) as where:
        db = await Database.open(where)
        try:
            service = await InboxService.connect(db, "bench", clock=lambda: now)
            await service.tenant_settings.save_channel(
                Channel.SMS, provider=Provider.TWILIO, config={"from_number": "+33700000000"}
            )
            tid = service.ctx.tenant_id
            known = [f"+336{10_000_000 + i:08d}" for i in range(n // 2)]
            await _store(service, [_event(tid, f"SMw{i:032d}", s) for i, s in enumerate(known)])
            worker = IngestWorker(service.ctx, _adapters(), booking=service.booking)
            await worker.run_once()
            fresh = [f"+336{20_000_000 + i:08d}" for i in range(n - n // 2)]
            senders = [s for pair in zip(known, fresh, strict=False) for s in pair]
            senders += fresh[len(known) :]
            await _store(service, [_event(tid, f"SMm{i:032d}", s) for i, s in enumerate(senders)])
            statements: list[str] = []

            def count(*args: Any) -> None:
                statements.append(args[2])

            engine = db.engine.sync_engine
            event.listen(engine, "before_cursor_execute", count)
            started, wall = time.process_time(), time.perf_counter()
            done = await worker.run_once()
            cpu, wall = time.process_time() - started, time.perf_counter() - wall
            event.remove(engine, "before_cursor_execute", count)
            return Drain(cpu, wall, len(statements), done)
        finally:
            await db.close()


def main() -> None:
    """Print CPU ms per event and statements per event, weekday and Sunday (or as asked)."""
    n = int(next((a for a in sys.argv[1:] if a.isdigit()), "300"))
    url = sys.argv[sys.argv.index("--url") + 1] if "--url" in sys.argv else None
    days = {"weekday": WEEKDAY, "sunday": SUNDAY}
    wanted = [d for d in days if f"--{d}" in sys.argv] or list(days)
    for day in wanted:
        drain = asyncio.run(measure(n, days[day], url))
        print(
            f"{day}: {drain.done} events, {drain.cpu_ms_per_event:.2f} ms CPU/event,"
            f" {drain.statements / drain.done:.1f} statements/event, {drain.rate:.0f} events/s"
        )


if __name__ == "__main__":
    main()
