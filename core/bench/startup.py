"""Cold start, each run in a fresh process: ``coccinelle`` to its first painted inbox page
(headless), against ``python -c pass``, ``import textual`` and a minimal Textual app showing a
50-row table that exits after its first paint (the reference). The app's peak resident memory
(with the dataset open and its first page shown) is read from the same runs.

The app's run is headless and stops after the first page is on screen because
``inbox_app.launch`` honours ``COCCINELLE_EXIT_AFTER_FIRST_PAINT``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from core.bench.context import BenchContext
from core.bench.results import Result, Summary, Target

FIRST_PAINT_ENV = "COCCINELLE_EXIT_AFTER_FIRST_PAINT"
MINIMAL_APP = """
from textual.app import App
from textual.widgets import DataTable


class Minimal(App):
    def compose(self):
        yield DataTable()

    def on_mount(self):
        table = self.query_one(DataTable)
        table.add_columns("name", "channel", "preview")
        for i in range(50):
            table.add_row(f"Prospect {i}", "sms", "Bonjour, je souhaite un rendez-vous")
        self.call_after_refresh(self.exit)


Minimal().run(headless=True)
"""


def _run(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall milliseconds and peak resident megabytes of one process; raises if it fails."""
    start = time.perf_counter()
    process = subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    errors = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = (time.perf_counter() - start) * 1000
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{argv[:3]} exited {process.returncode}: {errors.strip()[-500:]}")
    return elapsed, usage.ru_maxrss / 1024  # Linux reports kilobytes


def _samples(
    ctx: BenchContext, argv: list[str], env: dict[str, str] | None = None
) -> tuple[Summary, Summary]:
    """(wall time, peak RSS) over ``ctx.runs`` runs, after one warm-up run."""
    _run(argv, env)  # warm the file cache, as a second launch would be
    runs = [_run(argv, env) for _ in range(ctx.runs)]
    return Summary.of([ms for ms, _ in runs]), Summary.of([mb for _, mb in runs])


async def measure(ctx: BenchContext) -> list[Result]:
    """Run each process ``ctx.runs`` times after one warm-up."""
    python = sys.executable
    reference, reference_rss = _samples(ctx, [python, "-c", MINIMAL_APP])
    env = {
        **os.environ,
        FIRST_PAINT_ENV: "1",
        "COCCINELLE_DATABASE_URL": ctx.url,
        "COCCINELLE_TENANT": ctx.dataset.tenant,
        "COCCINELLE_MODE": "local",
    }
    app, app_rss = _samples(ctx, [python, "-m", "inbox_app.cli"], env)
    return [
        Result("startup.python", "ms", _samples(ctx, [python, "-c", "pass"])[0]),
        Result("startup.import_textual", "ms", _samples(ctx, [python, "-c", "import textual"])[0]),
        Result("startup.minimal_app", "ms", reference),
        Result(
            "startup.app",
            "ms",
            app,
            "median",
            "startup.minimal_app",
            reference,
            Target("median", 800),
        ),
        Result(
            "startup.app_memory",
            "MB",
            app_rss,
            "median",
            "startup.minimal_app_memory",
            reference_rss,
            Target("median", 200),
        ),
    ]
