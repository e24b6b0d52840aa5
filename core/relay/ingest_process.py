"""Ingest in a process of its own, on the relay's database, woken after each group commit.

The relay's event loop then only verifies, stores and answers; turning events into messages
(the ingest worker) runs on the other core. The relay writes one byte to the child's standard
input after each commit that stored something new; the child wakes its worker on each read, and
polls anyway (``core.ingest.worker.POLL_SECONDS``). When its standard input closes (the relay
stopped, or died), the child finishes the transaction it is in and exits: exactly-once and order
are the worker's (each event is claimed and marked processed with its effects).

    child = IngestProcess(argv)               # the relay side
    await child.start(); writer.on_commit.append(child.wake)
    await child.stop()

    await follow_wakes(worker)                # the child side: wake on each byte, end on EOF
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.channels.runtime import ChannelRuntime
    from core.ingest.worker import IngestWorker
    from core.service import InboxService

log = logging.getLogger(__name__)
#: What the relay writes to the child: new events; its writer waits for the lock; it has it.
WAKE, WANTED, RELEASED = b"\n", b"!", b"."
#: Seconds before a child that exited unexpectedly is started again.
RESTART_SECONDS = 1.0
#: Seconds a stopping child gets to finish its transaction before it is terminated.
STOP_SECONDS = 10.0


class IngestProcess:
    """The relay's side: starts the child, wakes it after commits, restarts it if it dies."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.argv = list(argv)
        self._process: asyncio.subprocess.Process | None = None
        self._pending = False
        self._stopping = False
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the child, and a task that starts it again if it exits before ``stop``."""
        await self._spawn()
        self._watch = asyncio.create_task(self._supervise(), name="relay-ingest-process")

    def wake(self) -> None:
        """Tell the child new events are stored (at most one byte per turn of the loop)."""
        if self._pending or self._process is None:
            return
        self._pending = True
        asyncio.get_running_loop().call_soon(self._notify)

    async def stop(self) -> None:
        """Close the child's input (it ends after its current transaction) and wait for it."""
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), STOP_SECONDS)
        except TimeoutError:
            log.warning("ingest process %d did not stop in time; terminating it", process.pid)
            process.terminate()
            await process.wait()

    def want_lock(self, waiting: bool) -> None:
        """Tell the child the relay's writer waits for the write lock (True) or has it (False):
        the child's ingest transaction then commits after the event it is applying."""
        process = self._process
        if process is None or process.stdin is None or process.stdin.is_closing():
            return
        process.stdin.write(WANTED if waiting else RELEASED)

    async def _spawn(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.PIPE
        )
        self._pending = False
        self.wake()  # whatever a previous run left pending

    def _notify(self) -> None:
        self._pending = False
        process = self._process
        if process is None or process.stdin is None or process.stdin.is_closing():
            return
        transport = process.stdin.transport
        if transport.get_write_buffer_size() == 0:  # a byte still unread wakes it just as well
            process.stdin.write(WAKE)

    async def _supervise(self) -> None:
        while not self._stopping:
            process = self._process
            if process is None:
                return
            code = await process.wait()
            if self._stopping:
                return
            log.error("ingest process exited (%s); starting it again", code)
            await asyncio.sleep(RESTART_SECONDS)
            await self._spawn()


async def follow_wakes(worker: IngestWorker) -> None:
    """The child's side: run ``worker``, woken on each byte of standard input, until that input
    ends (the relay stopped or died); the transaction in progress is then rolled back (its
    events stay pending for the next start). Ctrl-C is the relay's to handle, not the child's.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop), name="relay-ingest")
    gate = worker.ctx.db.gate
    try:
        while told := await reader.read(4096):
            if WAKE in told:
                worker.wake()
            last = max(told.rfind(WANTED), told.rfind(RELEASED))
            if last >= 0:
                gate.wanted_elsewhere = told[last : last + 1] == WANTED
    finally:
        stop.set()
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def ingest_until_closed(service: InboxService, runtime: ChannelRuntime) -> None:
    """The child's life: ``service``'s ingest worker reading events with ``runtime``'s
    adapters, woken through standard input until it closes (``follow_wakes``); ``runtime``
    is closed at the end (``service`` is the caller's to close)."""
    from core.ingest.worker import IngestWorker
    from core.relay.server import runtime_lookup

    worker = IngestWorker(service.ctx, runtime_lookup(runtime), booking=service.booking)
    try:
        await follow_wakes(worker)
    finally:
        await runtime.close()
