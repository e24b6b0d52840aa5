"""Ingest on its own: a backlog of stored Twilio SMS drained by the ingest worker, on SQLite and
on PostgreSQL (team mode), events applied per second and CPU per event.

Each run stores ``EVENTS`` events in an empty database (half from senders a first pass made
known, half from new ones; clock pinned to a weekday at 11:00, so Sara answers none out of
hours) and times ``IngestWorker.run_once()`` until none is pending (``core.bench.ingest_cpu``).
The relay rows of ``core.bench.ingest`` show ingest's share under load; these show what it
does when it has the database to itself. On PostgreSQL the database is a throw-away one on
``COCCINELLE_BENCH_PG_URL``'s server, and the CPU counted is the client's only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from core.bench.context import BenchContext
from core.bench.ingest_cpu import WEEKDAY, Drain
from core.bench.ingest_cpu import measure as drain
from core.bench.pg import fresh_database, server_url
from core.bench.results import Result, Summary

#: Stored events per run.
EVENTS = 1_000


async def measure(ctx: BenchContext) -> list[Result]:
    """Drain a backlog on a fresh SQLite file, ``ctx.runs`` times."""
    runs = [await drain(EVENTS, WEEKDAY) for _ in range(ctx.runs)]
    return _rows("ingest.drain", runs, "SQLite (a fresh file)")


async def measure_pg(ctx: BenchContext) -> list[Result]:
    """Drain a backlog on a fresh PostgreSQL database, ``ctx.runs`` times."""
    base = server_url()

    async def once() -> Drain:
        async with fresh_database(base, "ingest") as url:
            return await drain(EVENTS, WEEKDAY, url)

    runs = await _repeat(once, ctx.runs)
    database = "PostgreSQL, one server on this machine (its CPU is not in cpu_ms)"
    return _rows("ingest.pg_drain", runs, database)


async def _repeat(once: Callable[[], Awaitable[Drain]], times: int) -> list[Drain]:
    return [await once() for _ in range(times)]


def _rows(name: str, runs: list[Drain], database: str) -> list[Result]:
    details = {
        "events": EVENTS,
        "database": database,
        "statements_per_event": round(
            sum(r.statements for r in runs) / sum(r.done for r in runs), 2
        ),
        "applied": [r.done for r in runs],
    }
    return [
        Result(f"{name}_rate", "/s", Summary.of([r.rate for r in runs]), details=details),
        Result(
            f"{name}_cpu", "ms", Summary.of([r.cpu_ms_per_event for r in runs]),
            details={"per": "event", "database": database},
        ),
    ]  # fmt: skip
