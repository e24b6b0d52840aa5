"""Ingest in a process of its own, beside the relay, on the same SQLite database (WAL).

The relay's process then only answers webhooks (its event loop and its core are its own), and
ingest gets the other core. The two take turns at SQLite's write lock through the gate's
``SharedSignals``: the relay's writer is urgent, the ingest process commits and waits as soon
as it wants the lock, and pauses between transactions while webhooks are being answered.

    child = IngestProcess(argv, signals)     # argv starts ``coccinelle relay --ingest-worker``
    relay.writer.on_commit.append(child.wake)
    await child.run(stop)                    # supervised: started again if it dies

The child reads its standard input: a byte means "new events were committed", end of file means
"the relay is gone, stop" (also when the relay was killed). Exactly-once is the worker's own
(each event is marked processed in the transaction of its effects), so a child killed mid-batch
loses nothing and applies nothing twice: the next child takes what is still pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Callable, Sequence

from core.storage.gate import SharedSignals

log = logging.getLogger(__name__)

#: The environment variable naming the signals file, for the child.
SIGNALS_ENV = "COCCINELLE_INGEST_SIGNALS"
#: Waits before starting the child again after it died (the last one repeats).
RESTART_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0)
#: A child that ran this long before dying starts again without waiting.
STABLE_SECONDS = 30.0
#: How long the child has to finish its transaction once asked to stop.
STOP_SECONDS = 10.0


class IngestProcess:
    """Runs and supervises the ingest child process."""

    def __init__(self, argv: Sequence[str], signals: SharedSignals) -> None:
        self.argv = list(argv)
        self.signals = signals
        self.process: asyncio.subprocess.Process | None = None
        #: How many times the child was started (1 after the first start).
        self.starts = 0
        #: Set once a child has said it is ready (its first line of output).
        self.ready = asyncio.Event()

    def wake(self) -> None:
        """Tell the child that new events were committed (nothing when it is not running)."""
        process = self.process
        if process is None or process.stdin is None or process.stdin.is_closing():
            return
        with contextlib.suppress(Exception):  # a child dying now is started again by ``run``
            process.stdin.write(b".")

    async def run(self, stop: asyncio.Event) -> None:
        """Keep a child running until ``stop`` is set, then end it."""
        failures = 0
        try:
            while not stop.is_set():
                started = asyncio.get_running_loop().time()
                code = await self._run_once(stop)
                if stop.is_set():
                    break
                ran = asyncio.get_running_loop().time() - started
                failures = 0 if ran > STABLE_SECONDS else failures + 1
                delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS)) - 1] if failures else 0
                log.warning("ingest process ended (exit %s); starting it again", code)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
        finally:
            await self._end()

    async def _run_once(self, stop: asyncio.Event) -> int | None:
        env = {**os.environ, SIGNALS_ENV: str(self.signals.path)}
        self.process = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env
        )
        self.starts += 1
        exited = asyncio.ensure_future(self._wait_ready(self.process))
        stopped = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({exited, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        return self.process.returncode

    async def _wait_ready(self, process: asyncio.subprocess.Process) -> int:
        assert process.stdout is not None
        if await process.stdout.readline():
            self.ready.set()
        await process.stdout.read()  # nothing more is said; ends when the child does
        return await process.wait()

    async def _end(self) -> None:
        """Close the child's input (it stops after its transaction), then wait, then kill."""
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), timeout=STOP_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()


def worker_argv(arguments: Sequence[str]) -> list[str]:
    """The command starting the child: this interpreter, ``arguments`` after it."""
    return [sys.executable, *arguments]


def say_ready() -> None:
    """In the child: tell the relay that the worker is about to start."""
    sys.stdout.write("ready\n")
    sys.stdout.flush()


async def watch_input(wake: Callable[[], None], stop: asyncio.Event) -> None:
    """In the child: call ``wake`` on each read of standard input, set ``stop`` at its end."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        data = await reader.read(4096)
        if not data:
            stop.set()
            wake()  # out of the worker's wait now, not at its next poll
            return
        wake()
