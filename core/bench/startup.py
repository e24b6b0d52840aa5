"""Cold start, each run in a fresh process: ``coccinelle`` to its first painted inbox page
(headless), against ``python -c pass``, ``import textual`` and a minimal Textual app showing a
50-row table that exits after its first paint (the reference).

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


def _run(argv: list[str], env: dict[str, str] | None = None) -> float:
    """Wall milliseconds of one process; raises if it fails."""
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{argv[:3]} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return elapsed


def _samples(ctx: BenchContext, argv: list[str], env: dict[str, str] | None = None) -> Summary:
    _run(argv, env)  # warm the file cache, as a second launch would be
    return Summary.of([_run(argv, env) for _ in range(ctx.runs)])


async def measure(ctx: BenchContext) -> list[Result]:
    """Run each process ``ctx.runs`` times after one warm-up."""
    python = sys.executable
    reference = _samples(ctx, [python, "-c", MINIMAL_APP])
    env = {
        **os.environ,
        FIRST_PAINT_ENV: "1",
        "COCCINELLE_DATABASE_URL": ctx.url,
        "COCCINELLE_TENANT": ctx.dataset.tenant,
        "COCCINELLE_MODE": "local",
    }
    app = _samples(ctx, [python, "-m", "inbox_app.cli"], env)
    return [
        Result("startup.python", "ms", _samples(ctx, [python, "-c", "pass"])),
        Result("startup.import_textual", "ms", _samples(ctx, [python, "-c", "import textual"])),
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
    ]
