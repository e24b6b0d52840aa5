"""Cold start, each run in a fresh process: ``coccinelle`` to its first painted inbox page
(headless), against ``python -c pass``, ``import textual`` and a minimal Textual app showing a
50-row table that exits after its first paint (the reference). The app's peak resident memory
(with the dataset open and its first page shown) is read from the same runs, as the process's
own VmHWM (the parent's memory is not counted).

The app's run is headless and stops after the first page is on screen because
``inbox_app.launch`` honours ``COCCINELLE_EXIT_AFTER_FIRST_PAINT``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

from core.bench.context import BenchContext
from core.bench.results import Result, Summary, Target

FIRST_PAINT_ENV = "COCCINELLE_EXIT_AFTER_FIRST_PAINT"
#: How often a child's VmHWM is read (the last few milliseconds before exit may be missed).
POLL_SECONDS = 0.005
#: A child still running after this long is stopped and reported (it would never end by itself).
CHILD_TIMEOUT_SECONDS = 60.0
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
    """Wall milliseconds and peak resident megabytes of one process; raises if it fails.

    The peak is the process's own ``VmHWM`` (``/proc/<pid>/status``), polled while it runs:
    ``wait4``'s ``ru_maxrss`` would include this (large) bench process's memory at the fork.
    """
    start = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        peak_kb = 0
        while process.poll() is None:
            peak_kb = max(peak_kb, vm_hwm_kb(process.pid))
            time.sleep(POLL_SECONDS)
            if time.perf_counter() - start > CHILD_TIMEOUT_SECONDS:
                process.kill()
                process.wait()
                raise RuntimeError(f"{argv[:3]} still running after {CHILD_TIMEOUT_SECONDS:.0f} s")
        elapsed = (time.perf_counter() - start) * 1000
        if process.returncode != 0:
            errors.seek(0)
            text = errors.read().decode(errors="replace").strip()[-500:]
            raise RuntimeError(f"{argv[:3]} exited {process.returncode}: {text}")
    return elapsed, peak_kb / 1024


def vm_hwm_kb(pid: int | str) -> int:
    """The peak resident set (``VmHWM``, kB) of a running process; 0 once it has exited."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


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
