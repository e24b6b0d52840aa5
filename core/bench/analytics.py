"""Benchmark of ``channel_stats`` over a year on SQLite.

    python -m core.bench.analytics [--conversations 100000] [--runs 30] [--db PATH]

Generates an SQLite database (bulk inserts through ``sqlite3``; the full-text trigger is
bypassed for speed, the analytics triggers are not) with one tenant, ``conversations``
conversations spread over 2025 and 4–16 messages each on SMS, email, WhatsApp or Telegram, with
random statuses, timestamps, costs and clicks, inserted in time order as they would arrive, and
an appointment confirmed for one prospect in five, up to five days after their last message.
``--db`` keeps the database (and reuses it next time; each run works on a fresh copy).
Then times, for the last 365 days, ``service.analytics.channel_stats``:

- cold: the first call, which computes and stores every day;
- warm: nothing changed since the last call (p50 and p95 of ``runs`` calls);
- after a write: a new message on the last day before each call (its days are recomputed);

``preferred_channels`` and ``insights`` (``runs`` calls each); and, on a fresh copy, the engine's
background warm-up (``core.analytics.warmup``): its total time, each batch, the part of each
batch that stores its rows (under SQLite's write lock) and the first ``channel_stats`` after it.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from core.analytics.period import Period
from core.bench.results import percentile
from core.storage.database import Database, sqlite_url

_FMT = "%Y-%m-%d %H:%M:%S.%f"
_CHANNELS = ("sms", "email", "whatsapp", "telegram")


def _rows(conversations: int, seed: int):
    rng = random.Random(seed)
    start = datetime(2025, 1, 1)
    prospects, convs, messages, appointments = [], [], [], []
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
        if rng.random() < 0.2:  # one prospect in five confirms a visit a while later
            confirmed = moment + timedelta(seconds=rng.randrange(60, 5 * 86400))
            stamp, visit = confirmed.strftime(_FMT), (confirmed + timedelta(days=3)).strftime(_FMT)
            appointments.append((1, c, "visit", visit, visit, "confirmed", stamp, stamp, stamp))
    # Messages arrive in time order in real life, so their ids (rowids) follow time.
    messages.sort(key=lambda row: row[12])
    messages = [(i, *row[1:]) for i, row in enumerate(messages, start=1)]
    return prospects, convs, messages, appointments


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
    prospects, convs, messages, appointments = _rows(conversations, seed)
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
        con.executemany(
            "INSERT INTO appointments(tenant_id, prospect_id, kind, starts_at, ends_at, status,"
            " confirmed_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            appointments,
        )
    con.close()
    return len(messages)


async def measure(path: Path, now: datetime, runs: int) -> dict[str, list[float]]:
    """Seconds of the cold call, of ``runs`` warm calls and of ``runs`` calls after a write."""
    from core.service import InboxService

    db = await Database.open(sqlite_url(path))
    try:
        service = await InboxService.connect(db, "bench", clock=lambda: now)
        period = Period.last_days(365, now)
        timings: dict[str, list[float]] = {"cold": [], "warm": [], "after a write": []}
        timings["cold"].append(await _timed(service.analytics.channel_stats(period)))
        for _ in range(runs):
            timings["warm"].append(await _timed(service.analytics.channel_stats(period)))
        for n in range(runs):
            await _write_one(db, now - timedelta(minutes=runs - n))
            timings["after a write"].append(await _timed(service.analytics.channel_stats(period)))
        for name in ("preferred_channels", "insights"):
            call = getattr(service.analytics, name)
            timings[name] = [await _timed(call(period)) for _ in range(runs)]
        return timings
    finally:
        await db.close()


async def measure_warmed(path: Path, now: datetime) -> dict[str, list[float]]:
    """The engine's background warm-up on a never-read copy, then the first read after it.

    Times the whole warm-up, each of its batches, the part of each batch that holds SQLite's
    write lock to store its rows, and the first ``channel_stats`` of the year once it is done.
    """
    from core.analytics import rollups
    from core.analytics.warmup import RollupWarmer
    from core.service import InboxService

    db = await Database.open(sqlite_url(path))
    timings: dict[str, list[float]] = {"warm-up batch": [], "batch: storing": []}
    originals: dict[str, Callable[..., Awaitable[Any]]] = {
        "refresh_pending": rollups.refresh_pending,
        "_store": rollups._store,
    }

    def timed(name: str, label: str):
        async def call(*args):
            began = time.perf_counter()
            result = await originals[name](*args)
            timings[label].append(time.perf_counter() - began)
            return result

        return call

    rollups.refresh_pending = timed("refresh_pending", "warm-up batch")
    rollups._store = timed("_store", "batch: storing")
    try:
        service = await InboxService.connect(db, "bench", clock=lambda: now)
        whole = await _timed(RollupWarmer(service.ctx, pause=0).warm())
        first = await _timed(service.analytics.channel_stats(Period.last_days(365, now)))
        return {"warm-up (total)": [whole], **timings, "first read after": [first]}
    finally:
        for name, original in originals.items():
            setattr(rollups, name, original)
        await db.close()


async def _timed(call) -> float:
    began = time.perf_counter()
    await call
    return time.perf_counter() - began


async def _write_one(db: Database, moment: datetime) -> None:
    """An incoming SMS from the first prospect (as ingest would store it; triggers fire)."""
    stamp = moment.astimezone(UTC).replace(tzinfo=None).strftime(_FMT)
    async with db.session() as session:
        await session.execute(
            text(
                "INSERT INTO messages(tenant_id, conversation_id, prospect_id, direction,"
                " channel_type, kind, sender_type, content, metadata, status, created_at)"
                " VALUES (1, 1, 1, 'inbound', 'sms', 'message', 'prospect', 'Oui', '{}',"
                " 'received', :stamp)"
            ),
            {"stamp": stamp},
        )


def _report(conversations: int, count: int, timings: dict[str, list[float]]) -> str:
    lines = [f"{conversations} conversations, {count} messages: analytics over 365 days"]
    for name, samples in timings.items():
        ms = [s * 1000 for s in samples]
        if len(ms) == 1:
            lines.append(f"  {name:<18} {ms[0]:8.0f} ms")
        else:
            lines.append(
                f"  {name:<18} p50 {percentile(ms, 50):6.1f} ms   p95 {percentile(ms, 95):6.1f} ms"
                f"   max {max(ms):6.1f} ms   ({len(ms)} runs)"
            )
    return "\n".join(lines)


async def _main(conversations: int, runs: int, keep: Path | None) -> None:
    now = datetime(2025, 12, 31, 12, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as folder:
        path = keep or Path(folder) / "bench.db"
        if keep is not None and keep.exists():
            count = _count(keep)
        else:
            count = await build(path, conversations)
        pristine = Path(folder) / "pristine.db"
        shutil.copyfile(path, pristine)  # every measurement starts from the never-read state
        fresh = Path(folder) / "bench.db"
        if fresh != path:
            shutil.copyfile(pristine, fresh)
        timings = await measure(fresh, now, runs)
        shutil.copyfile(pristine, fresh)
        for name in ("-wal", "-shm"):
            fresh.with_name(fresh.name + name).unlink(missing_ok=True)
        timings.update(await measure_warmed(fresh, now))
        print(_report(conversations, count, timings))


def _count(path: Path) -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT count(*) FROM messages").fetchone()[0]
    finally:
        con.close()


def main(argv: list[str] | None = None) -> None:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m core.bench.analytics")
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--db", type=Path, help="keep the generated database here (reused)")
    args = parser.parse_args(argv)
    asyncio.run(_main(args.conversations, args.runs, args.db))


if __name__ == "__main__":
    main()
