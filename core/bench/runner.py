"""Running the measurements in order and collecting their rows.

Each measurement is ``async (BenchContext) -> list[Result]``; one that cannot run in this build
raises ``Unavailable`` and the run goes on. Callers may add their own (the app adds the ones
that need Textual).
"""

from __future__ import annotations

import logging
import os
import platform
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from core.bench import (
    broadcast,
    decide,
    inbound_mail,
    inbox,
    ingest,
    ingest_drain,
    search,
    startup,
    team,
)
from core.bench.context import BenchContext, Unavailable
from core.bench.results import Result

log = logging.getLogger(__name__)
Measurement = Callable[[BenchContext], Awaitable[list[Result]]]

#: The measurements ``coccinelle bench`` knows, in the order they run.
MEASUREMENTS: dict[str, Measurement] = {
    "search": search.measure,
    "inbox": inbox.measure,
    "decide": decide.measure,
    "ingest": ingest.measure,
    "ingest_drain": ingest_drain.measure,
    "ingest_drain_pg": ingest_drain.measure_pg,
    "startup": startup.measure,
    "broadcast": broadcast.measure,
    "broadcast_e2e": broadcast.measure_end_to_end,
    "broadcast_pg": broadcast.measure_pg,
    "team": team.measure,
    "inbound_mail": inbound_mail.measure,
}


@dataclass
class Report:
    """The rows of one run, what was skipped and why, and the machine."""

    scale: str
    results: list[Result] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)
    dataset: dict[str, Any] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "scale": self.scale,
            "machine": self.machine,
            "dataset": self.dataset,
            "results": [r.as_json() for r in self.results],
            "skipped": self.skipped,
            "failed": self.failed,
        }


def machine() -> dict[str, Any]:
    """What the numbers depend on."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(terse=True),
        "executable": sys.executable,
        "load": os.getloadavg()[0],
    }


async def run(
    ctx: BenchContext,
    measurements: dict[str, Measurement],
    only: list[str] | None = None,
    progress: Callable[[str], None] = lambda name: None,
) -> Report:
    """Run ``measurements`` (those named in ``only``, if given) in order."""
    report = Report(
        ctx.dataset.scale,
        machine=machine(),
        dataset={
            "conversations": ctx.dataset.conversations,
            "messages": ctx.dataset.messages,
            "path": str(ctx.dataset.path),
            "seed": ctx.dataset.seed,
        },
    )
    for name, measure in measurements.items():
        if only and name not in only:
            continue
        progress(name)
        try:
            report.results.extend(await measure(ctx))
        except Unavailable as missing:
            report.results.extend(missing.results)
            report.skipped[name] = missing.reason
        except Exception as exc:  # one broken measurement must not hide the others' results
            log.exception("measurement %s failed", name)
            report.failed[name] = f"{type(exc).__name__}: {exc}"
    return report
