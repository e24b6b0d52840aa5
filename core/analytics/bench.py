"""Benchmark of ``channel_stats`` over a year: ``python -m core.analytics.bench [conversations]``.

Generates an SQLite database (bulk inserts through ``sqlite3``, FTS trigger bypassed for speed)
with one tenant, ``conversations`` conversations spread over 2025 and 4–16 messages each on
SMS, email, WhatsApp or Telegram, with random statuses, timestamps, costs and clicks, inserted
in time order as they would arrive; then
times ``service.analytics.channel_stats`` for the last 365 days, first cold (rollups built),
then warm (median of fifteen).
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.analytics.period import Period
from core.storage.database import Database, sqlite_url

_FMT = "%Y-%m-%d %H:%M:%S.%f"
_CHANNELS = ("sms", "email", "whatsapp", "telegram")


def _rows(conversations: int, seed: int):
    rng = random.Random(seed)
    start = datetime(2025, 1, 1)
    prospects, convs, messages = [], [], []
    for c in range(1, conversations + 1):
        stamp = start.strftime(_FMT)
        prospects.append((c, 1, f"P{c}", "[]", stamp, stamp))
        channel = rng.choice(_CHANNELS)
        moment = start + timedelta(seconds=rng.randrange(365 * 86400))
        first = moment.strftime(_FMT)
        convs.append((c, 1, c, channel, "open", 2, "{}", f"P{c}", "", 0, 0, first, first))
        for _ in range(rng.randrange(4, 17)):
            moment += timedelta(seconds=rng.randrange(30, 86400))
            messages.append(_message(rng, 0, c, channel, moment))
    # Messages arrive in time order in real life, so their ids (rowids) follow time.
    messages.sort(key=lambda row: row[12])
    messages = [(i, *row[1:]) for i, row in enumerate(messages, start=1)]
    return prospects, convs, messages


def _message(rng: random.Random, mid: int, conv: int, channel: str, moment: datetime):
    out = rng.random() < 0.55
    status = rng.choice(("sent", "delivered", "read", "read", "failed")) if out else "received"
    later = lambda low, high: (moment + timedelta(seconds=rng.randrange(low, high))).strftime(_FMT)  # noqa: E731
    delivered = later(2, 90) if status in ("delivered", "read") else None
    read = later(60, 9000) if status == "read" else None
    meta = '{"clicked_at": "2025-01-01T00:00:00"}' if out and rng.random() < 0.05 else "{}"
    stamp = moment.strftime(_FMT)
    return (
        mid, 1, conv, conv, "outbound" if out else "inbound", channel, "message",
        "agent" if out else "prospect", "Bonjour, votre RDV est confirmé.", meta, status,
        50000 if out else None, stamp, stamp if out else None, delivered, read,
        stamp if status == "failed" else None,
    )  # fmt: skip


async def build(path: Path, conversations: int, seed: int = 1) -> int:
    """Create the benchmark database at ``path``; return the number of messages."""
    db = await Database.open(sqlite_url(path))
    await db.close()
    prospects, convs, messages = _rows(conversations, seed)
    con = sqlite3.connect(path)
    with con:
        con.execute(
            "INSERT INTO tenants(id, name, slug, settings, created_at) "
            "VALUES (1, 'bench', 'bench', '{}', '2025-01-01 00:00:00.000000')"
        )
        con.executemany(
            "INSERT INTO prospects(id, tenant_id, display_name, opted_out_channels, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            prospects,
        )
        con.executemany(
            "INSERT INTO conversations(id, tenant_id, prospect_id, channel_type, status, priority,"
            " context, prospect_name, last_message_preview, unread_count, message_count,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            convs,
        )
        con.execute("DROP TRIGGER messages_fts_ai")
        con.executemany(
            "INSERT INTO messages(id, tenant_id, conversation_id, prospect_id, direction,"
            " channel_type, kind, sender_type, content, metadata, status, cost_micros, created_at,"
            " sent_at, delivered_at, read_at, failed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            messages,
        )
    con.close()
    return len(messages)


async def measure(path: Path, now: datetime) -> tuple[float, list[float]]:
    """Seconds of the cold call and of five warm calls of a 365-day ``channel_stats``."""
    from core.service import InboxService

    db = await Database.open(sqlite_url(path))
    try:
        service = await InboxService.connect(db, "bench", clock=lambda: now)
        period = Period.last_days(365, now)
        began = time.perf_counter()
        await service.analytics.channel_stats(period)
        cold = time.perf_counter() - began
        warm = []
        for _ in range(15):
            began = time.perf_counter()
            await service.analytics.channel_stats(period)
            warm.append(time.perf_counter() - began)
        return cold, warm
    finally:
        await db.close()


async def _main(conversations: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.db"
        count = await build(path, conversations)
        cold, warm = await measure(path, datetime(2025, 12, 31, 12, tzinfo=UTC))
        print(
            f"{conversations} conversations, {count} messages: channel_stats over 365 days "
            f"cold {cold * 1000:.0f} ms, warm median {statistics.median(warm) * 1000:.0f} ms "
            f"(min {min(warm) * 1000:.0f} ms)"
        )


if __name__ == "__main__":
    asyncio.run(_main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
