"""CPU time of ingest per stored event: ``python -m core.bench.ingest_cpu [N] [--sunday]``.

Stores N signed-as-received Twilio SMS events (half from senders known from a first pass,
half from new ones) in a fresh SQLite database, then times ``IngestWorker.run_once()`` with
``time.process_time`` (the process's CPU, not the wall clock: the machine is shared) and counts
its SQL statements. The clock is pinned to a weekday at 11:00 (open) or to a Sunday (closed:
each new conversation gets the out-of-hours reply through the pipeline).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
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


async def measure(n: int, now: datetime) -> tuple[float, int, int]:
    """CPU seconds and statements of ``run_once`` over ``n`` events, and how many applied."""
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(sqlite_url(Path(tmp) / "cpu.db"))
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
            started = time.process_time()
            done = await worker.run_once()
            cpu = time.process_time() - started
            event.remove(engine, "before_cursor_execute", count)
            return cpu, len(statements), done
        finally:
            await db.close()


def main() -> None:
    """Print CPU ms per event and statements per event, weekday and Sunday (or as asked)."""
    n = int(next((a for a in sys.argv[1:] if a.isdigit()), "300"))
    days = {"weekday": WEEKDAY, "sunday": SUNDAY}
    wanted = [d for d in days if f"--{d}" in sys.argv] or list(days)
    for day in wanted:
        cpu, statements, done = asyncio.run(measure(n, days[day]))
        print(
            f"{day}: {done} events, {1000 * cpu / done:.2f} ms CPU/event,"
            f" {statements / done:.1f} statements/event"
        )


if __name__ == "__main__":
    main()
