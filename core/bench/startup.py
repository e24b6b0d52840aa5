"""Cold start, each run in a fresh process: ``coccinelle`` to its first painted inbox page
(headless), against ``python -c pass``, ``import textual`` and a minimal Textual app showing a
50-row table that exits after its first paint (the reference). The app's peak resident memory
(with the dataset open and its first page shown) is read from the same runs, as the process's
own VmHWM (the parent's memory is not counted).

The app's run is headless and stops after the first page is on screen because
``inbox_app.launch`` honours ``COCCINELLE_EXIT_AFTER_FIRST_PAINT``. The clock stops at the first
paint, not at the exit: the app and the reference write the wall-clock time of their first paint
to a file (``COCCINELLE_FIRST_PAINT_STAMP``), so quitting (workers settling, the database
closing, the interpreter's teardown) is not counted as start-up.

Every child compiles its modules once and reads them from a bytecode cache afterwards (a scratch
``PYTHONPYCACHEPREFIX``, filled by the warm-up run), as a user's second start reads the
``__pycache__`` its first start wrote: an environment that forbids writing bytecode
(``PYTHONDONTWRITEBYTECODE``) would otherwise compile the project's sources on every run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core.bench.context import BenchContext
from core.bench.results import Result, Summary, Target

FIRST_PAINT_ENV = "COCCINELLE_EXIT_AFTER_FIRST_PAINT"
#: The file a child writes the time of its first paint to (``inbox_app.launch``).
FIRST_PAINT_STAMP_ENV = "COCCINELLE_FIRST_PAINT_STAMP"
#: How often a child's VmHWM is read (the last few milliseconds before exit may be missed).
POLL_SECONDS = 0.005
#: A child still running after this long is stopped and reported (it would never end by itself).
CHILD_TIMEOUT_SECONDS = 60.0
MINIMAL_APP = """
import os
import time

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
        self.call_after_refresh(self.painted)

    def painted(self):
        if os.environ.get("COCCINELLE_FIRST_PAINT_STAMP"):
            with open(os.environ["COCCINELLE_FIRST_PAINT_STAMP"], "w") as out:
                out.write(str(time.time_ns()))
        self.exit()


Minimal().run(headless=True)
"""


def _run(
    argv: list[str], env: dict[str, str] | None = None, stamp: Path | None = None
) -> tuple[float, float]:
    """Wall milliseconds and peak resident megabytes of one process; raises if it fails.

    With ``stamp``, the milliseconds run to the first paint the child wrote there; without, to
    its exit. The peak is the process's own ``VmHWM`` (``/proc/<pid>/status``), polled while it
    runs: ``wait4``'s ``ru_maxrss`` would include this (large) bench process's memory at the fork.
    """
    if stamp is not None:
        stamp.unlink(missing_ok=True)
    started_ns = time.time_ns()
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
    if stamp is not None:
        if not stamp.exists():
            raise RuntimeError(f"{argv[:3]} exited without reporting its first paint")
        elapsed = (int(stamp.read_text(encoding="ascii")) - started_ns) / 1e6
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
    ctx: BenchContext, argv: list[str], env: dict[str, str], stamp: Path | None = None
) -> tuple[Summary, Summary]:
    """(wall time, peak RSS) over ``ctx.runs`` runs, after one warm-up run."""
    _run(argv, env, stamp)  # warm the file and bytecode caches, as a second launch would be
    runs = [_run(argv, env, stamp) for _ in range(ctx.runs)]
    return Summary.of([ms for ms, _ in runs]), Summary.of([mb for _, mb in runs])


def child_environment(scratch: Path) -> dict[str, str]:
    """This process's environment, with bytecode cached under ``scratch`` and first paints
    stamped in it."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    env[FIRST_PAINT_STAMP_ENV] = str(scratch / "painted")
    return env


async def measure(ctx: BenchContext) -> list[Result]:
    """Run each process ``ctx.runs`` times after one warm-up."""
    scratch = Path(tempfile.mkdtemp(prefix="coccinelle-startup-"))
    try:
        return _measure(ctx, child_environment(scratch), scratch / "painted")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _measure(ctx: BenchContext, env: dict[str, str], stamp: Path) -> list[Result]:
    python = sys.executable
    reference, reference_rss = _samples(ctx, [python, "-c", MINIMAL_APP], env, stamp)
    app_env = {
        **env,
        FIRST_PAINT_ENV: "1",
        "COCCINELLE_DATABASE_URL": ctx.url,
        "COCCINELLE_TENANT": ctx.dataset.tenant,
        "COCCINELLE_MODE": "local",
    }
    app, app_rss = _samples(ctx, [python, "-m", "inbox_app.cli"], app_env, stamp)
    return [
        Result("startup.python", "ms", _samples(ctx, [python, "-c", "pass"], env)[0]),
        Result(
            "startup.import_textual", "ms", _samples(ctx, [python, "-c", "import textual"], env)[0]
        ),
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
