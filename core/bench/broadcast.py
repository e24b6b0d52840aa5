"""Broadcast, first half: queueing a message to the dataset's prospects (10,000, or 100,000 at
the large scale: one decision, conversation and outbox row each, in the service's chunks), in a
process of its own so that its peak memory is the broadcast's alone.

Sending the queue through the sandbox is not measured here yet. Runs on a copy of the dataset.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from core.bench.context import BenchContext
from core.bench.results import Result, Summary, Target

PROSPECTS = {"large": 100_000}
DEFAULT_PROSPECTS = 10_000
#: The issue's floors: 3,000 prospects queued per second; 300 MB for a 100k broadcast.
RATE_FLOOR = 3_000
PEAK_RSS_MB = 300


async def measure(ctx: BenchContext) -> list[Result]:
    """Queue one broadcast on a copy, in a clean process; rate over the run, its peak RSS."""
    copy = ctx.dataset.path.with_name("broadcast.db")
    shutil.copyfile(ctx.dataset.path, copy)
    count = PROSPECTS.get(ctx.dataset.scale, DEFAULT_PROSPECTS)
    argv = [sys.executable, "-m", "core.bench.broadcast_run", str(copy), ctx.dataset.tenant]
    try:
        done = subprocess.run([*argv, str(count)], capture_output=True, text=True, check=False)
    finally:
        for leftover in copy.parent.glob(copy.name + "*"):
            leftover.unlink()
    if done.returncode != 0:
        raise RuntimeError(f"the broadcast run failed: {done.stderr.strip()[-500:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    rate = found["prospects"] / found["seconds"]
    peak = found["peak_rss_mb"]
    details = {
        "prospects": found["prospects"],
        "seconds": round(found["seconds"], 1),
        "progress": found["progress"],
        "process": "its own (peak = its VmHWM)",
    }
    return [
        Result(
            "broadcast.queue_rate", "/s", Summary(rate, rate, rate, 1), "median", None, None,
            Target("median", RATE_FLOOR, at_least=True), details,
        ),
        Result(
            "broadcast.peak_rss", "MB", Summary(peak, peak, peak, 1),
            target=Target("value", PEAK_RSS_MB),
        ),
    ]  # fmt: skip
