"""Broadcast: queueing a message to the dataset's prospects (10,000, or 100,000 at the large
scale: one decision, conversation and outbox row each, in the service's chunks), and the whole
way (``measure_end_to_end``: queued, sent through the real SDKs to the sandbox, every status
callback back through the relay and applied). Each in a process of its own so that its peak
memory is the broadcast's alone; each on a copy of the dataset. ``measure_pg``: the same
queueing on PostgreSQL (team mode), in a throw-away database the dataset is generated into.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from core.bench.context import BenchContext
from core.bench.pg import fresh_database, server_url
from core.bench.results import Result, Summary, Target

PROSPECTS = {"large": 100_000}
DEFAULT_PROSPECTS = 10_000
#: End to end: the issue's 100k at the large scale; fewer at the others, to stay minutes long.
END_TO_END_PROSPECTS = {"small": 300, "medium": 2_000, "large": 100_000}
#: The issue's floors: 3,000 prospects queued per second; 300 MB for a 100k broadcast;
#: 1,000 messages per second end to end.
RATE_FLOOR = 3_000
PEAK_RSS_MB = 300
END_TO_END_FLOOR = 1_000
#: The end of a run's log kept in its details (a child's warnings were dropped: session 11's
#: stalled 100k run showed "no error" though its log, unread, may have had one).
LOG_TAIL = 800
#: End to end, the relay's ingest in a process of its own (as ``coccinelle relay`` runs it)
#: instead of the app's event loop: off, because then the 100k run fails — the queueing's
#: write waits out SQLite's busy timeout behind the other process's writers (PERFORMANCE.md,
#: "Session 11"). On, its CPU and memory are added to the app's.
END_TO_END_INGEST_PROCESS = False


async def measure(ctx: BenchContext) -> list[Result]:
    """Queue one broadcast on a copy, in a clean process; rate over the run, its peak RSS;
    next to it, bare ``sqlite3`` writing the same rows to another copy
    (``core.bench.broadcast_bare``)."""
    from core.service.outbound import BROADCAST_CHUNK

    count = PROSPECTS.get(ctx.dataset.scale, DEFAULT_PROSPECTS)
    with ctx.copy("broadcast_run") as copy, ctx.copy("broadcast_bare") as fresh:
        found = _run(["core.bench.broadcast_run", str(copy), ctx.dataset.tenant, str(count)])
        args = [str(copy), str(fresh), found["broadcast_id"], str(BROADCAST_CHUNK)]
        bare = _run(["core.bench.broadcast_bare", *args])
    rate = bare["prospects"] / bare["seconds"]
    reference = Result(
        "broadcast.bare_sqlite", "/s", Summary(rate, rate, rate, 1), "median",
        details={
            "writes": "the broadcast's rows, replayed with plain sqlite3: a transaction per "
            f"chunk of {BROADCAST_CHUNK}, an executemany per table; only the writes timed",
            "cpu_ms_per_prospect": round(1000 * bare["cpu_seconds"] / max(bare["prospects"], 1), 3),
            **{k: bare[k] for k in ("conversations", "messages", "outbox", "updates")},
        },
    )  # fmt: skip
    process = "its own (peak = its VmHWM), collector settled as in the app"
    rows = _queueing(
        "broadcast.", found, reference.summary, progress=found["progress"], process=process
    )
    return [reference, *rows]


def _queueing(
    name: str, found: dict[str, Any], reference: Summary | None = None, **details: Any
) -> list[Result]:
    """A queueing run's rows, named from the prefix ``name`` (``broadcast.``, ``broadcast.pg_``):
    its rate (against bare sqlite3's, ``reference``, when given) and peak RSS, with CPU and
    statements per prospect among ``details``."""
    rate = found["prospects"] / found["seconds"]
    peak = found["peak_rss_mb"]
    details = {
        "prospects": found["prospects"],
        "seconds": round(found["seconds"], 1),
        "cpu_ms_per_prospect": round(1000 * found["cpu_seconds"] / max(found["prospects"], 1), 3),
        "statements_per_prospect": round(found["statements"] / max(found["prospects"], 1), 3),
        **details,
    }
    return [
        Result(
            f"{name}queue_rate", "/s", Summary(rate, rate, rate, 1), "median",
            "broadcast.bare_sqlite" if reference else None, reference,
            Target("median", RATE_FLOOR, at_least=True), details,
        ),
        Result(
            f"{name}peak_rss", "MB", Summary(peak, peak, peak, 1),
            target=Target("value", PEAK_RSS_MB),
        ),
    ]  # fmt: skip


async def measure_end_to_end(ctx: BenchContext) -> list[Result]:
    """Queue one broadcast and wait until every message has its final status, in a clean
    process: messages per second from the first queued to the last status applied, the app's
    peak RSS and its CPU per message — the app being that process (queueing, the outbox
    worker, the relay and its ingest) and, with ``END_TO_END_INGEST_PROCESS``, the ingest
    process (CPU and peak added); the sandbox runs in a process of its own (its CPU is the
    providers', reported beside)."""
    count = END_TO_END_PROSPECTS.get(ctx.dataset.scale, DEFAULT_PROSPECTS)
    apart = ["--ingest-process"] if END_TO_END_INGEST_PROCESS else []
    found = _run_on_copy(ctx, "core.bench.broadcast_e2e_run", count, apart)
    rate = found["settled"] / found["seconds"] if found["seconds"] else 0.0
    ingest = found["ingest"]
    peak = found["peak_rss_mb"] + ingest.get("peak_rss_mb", 0.0)

    def per_message(seconds: float) -> float:
        return round(1000 * seconds / max(found["settled"], 1), 3)

    details = {
        "prospects": found["prospects"],
        "settled": found["settled"],
        "seconds": round(found["seconds"], 1),
        "queue_seconds": round(found["queue_seconds"], 1),
        "statuses": found["statuses"],
        "cpu_ms_per_message": per_message(found["cpu_seconds"] + ingest.get("cpu_seconds", 0.0)),
        "sandbox_cpu_ms_per_message": per_message(found["sandbox"].get("cpu_seconds", 0.0)),
        "process": "the app's: queueing, outbox and relay in one, the relay's ingest "
        + ("in another (CPU and peak = their sum)" if apart else "in its event loop")
        + "; the sandbox in its own; statuses counted by an observer process",
        "pacing": "off (the SMS adapter's 1/s is a long code's)",
        "webhooks": "the sandbox posts 32 at once (a provider's many senders); SendGrid's "
        "events of the sends of a second in one post (as SendGrid batches them)",
    }
    if found.get("log_tail"):
        details["log_tail"] = found["log_tail"]
    if apart:
        details["main_cpu_ms_per_message"] = per_message(found["cpu_seconds"])
        details["ingest_cpu_ms_per_message"] = per_message(ingest.get("cpu_seconds", 0.0))
        details["main_peak_rss_mb"] = round(found["peak_rss_mb"], 1)
        details["ingest_peak_rss_mb"] = round(ingest.get("peak_rss_mb", 0.0), 1)
    return [
        Result(
            "broadcast.end_to_end_rate", "/s", Summary(rate, rate, rate, 1), "median", None,
            None, Target("median", END_TO_END_FLOOR, at_least=True), details,
        ),
        Result(
            "broadcast.end_to_end_peak_rss", "MB", Summary(peak, peak, peak, 1),
            target=Target("value", PEAK_RSS_MB),
        ),
    ]  # fmt: skip


async def measure_pg(ctx: BenchContext) -> list[Result]:
    """``measure`` on PostgreSQL: the dataset of the same scale and seed generated into a
    throw-away database of ``COCCINELLE_BENCH_PG_URL``'s server, the broadcast queued there."""
    from core.bench.generate import generate
    from core.storage.database import Database

    count = PROSPECTS.get(ctx.dataset.scale, DEFAULT_PROSPECTS)
    async with fresh_database(server_url(), "broadcast") as url:
        db = await Database.open(url)
        try:
            await generate(db, ctx.dataset.scale, seed=ctx.dataset.seed, tenant=ctx.dataset.tenant)
        finally:
            await db.close()
        found = _run(["core.bench.broadcast_run", url, ctx.dataset.tenant, str(count)])
    database = "PostgreSQL, one server on this machine (its CPU is not in cpu_ms)"
    return _queueing("broadcast.pg_", found, database=database)


def _run_on_copy(
    ctx: BenchContext, module: str, count: int, options: list[str] | None = None
) -> dict[str, Any]:
    """Run ``module`` on a copy of the dataset in a child process; the JSON line it prints."""
    with ctx.copy(module.rsplit(".", 1)[-1]) as copy:
        return _run([module, str(copy), ctx.dataset.tenant, str(count), *(options or [])])


def _run(args: list[str]) -> dict[str, Any]:
    """Run ``python -m *args`` in a child process; the JSON line it prints."""
    argv = [sys.executable, "-m", *args]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the broadcast run failed: {done.stderr.strip()[-500:]}")
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    if done.stderr.strip():  # what the child logged (warnings and up): why a run stalled
        found["log_tail"] = done.stderr.strip()[-LOG_TAIL:]
    return found
