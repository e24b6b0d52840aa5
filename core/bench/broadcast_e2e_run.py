"""One broadcast end to end in a clean process, for ``core.bench.broadcast``:

    python -m core.bench.broadcast_e2e_run DATABASE TENANT COUNT [--ingest-process]

The demo engine's own pieces on loopback: the relay in this process with its ingest in the
event loop as the app runs it (with ``--ingest-process``: in a process of its own,
``core.bench.ingest_child``, as ``coccinelle relay`` runs it), the real SDKs in the adapters,
and the sandbox's providers in another process (``core.bench.sandbox_process``: a provider's
CPU and memory are not the app's). The broadcast is queued while the outbox worker sends;
the sandbox posts each message's status callbacks, signed, to the relay, which stores them
and ingest applies them. Done when every message of the broadcast has a final status
(delivered, read, failed, undelivered), as counted by an observer process
(``core.bench.status_poll``: counting is not the app's work). Prints one JSON line:
prospects, messages settled, the queueing and end-to-end seconds, the statuses, the CPU
seconds over the run and the peak resident memory (VmHWM) of this process (and of the ingest
process, when apart), and the sandbox process's.

Two things differ from the app, both said in the bench's row: the providers' pacing is off
(the sandbox accepts any rate; the SMS adapter's 1/s is a long code's, a provider-scale sender
has a higher-throughput number), and the sandbox's request log is emptied as it goes (it keeps
every request for tests; here it would only grow).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from asyncio.subprocess import PIPE
from pathlib import Path
from typing import Any

from core.bench import ingest_child
from core.bench.broadcast_run import broadcasting_service, first_prospects
from core.bench.startup import vm_hwm_kb
from core.collector import settle_collector
from core.domain.decision import ReplyDraft
from core.domain.enums import MessageStatus, MessageType
from core.storage.database import Database, sqlite_url

TEXT = "Bonjour, nouvelles annonces dans votre quartier cette semaine."
#: A message is settled once its status can no longer move on by a provider's callback.
SETTLED = (
    MessageStatus.DELIVERED,
    MessageStatus.READ,
    MessageStatus.FAILED,
    MessageStatus.UNDELIVERED,
    MessageStatus.EXPIRED,
    MessageStatus.CANCELLED,
)
#: Give up after this long without any message settling: longer than the outbox worker's lease
#: (120 s), so that rows left "sending" by a failed round are seen reconciled, not a stall.
STALL_SECONDS = 180.0


class _Unpaced:
    """A pace that never waits (the sandbox takes any rate)."""

    async def acquire(self) -> float:
        return 0.0


class _SandboxProcess:
    """The sandbox running in a child process, as the engine sees it (``Engine.sandbox``)."""

    def __init__(self, process: asyncio.subprocess.Process, ready: dict[str, Any]) -> None:
        self.process = process
        self.base_urls: dict[str, str] = ready["base_urls"]
        self.credentials: dict[str, dict[str, str]] = ready["credentials"]
        self.options: dict[str, dict[str, Any]] = ready["options"]
        self.personas = ()
        #: The child's own CPU seconds and peak RSS, once stopped.
        self.usage: dict[str, float] = {}

    @classmethod
    async def start(cls) -> _SandboxProcess:
        """Start the child and wait until it serves (it posts nowhere until ``tell``)."""
        argv = ["-m", "core.bench.sandbox_process"]
        process = await asyncio.create_subprocess_exec(
            sys.executable, *argv, stdin=PIPE, stdout=PIPE
        )
        assert process.stdout is not None
        line = await process.stdout.readline()
        if not line:
            raise RuntimeError("the sandbox process did not start")
        return cls(process, json.loads(line))

    def tell(self, relay_url: str) -> None:
        """Give the child the relay's URL (it posts the webhooks there from now on)."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{relay_url}\n".encode())

    def described(self) -> str:
        """What the ingest process needs of the sandbox (``core.bench.ingest_child``)."""
        keys = ("base_urls", "credentials", "options")
        return json.dumps({key: getattr(self, key) for key in keys})

    async def stop(self) -> None:
        """Close the child's input (it stops serving) and read its usage."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        line = await self.process.stdout.readline()
        await self.process.wait()
        if line:
            self.usage = json.loads(line)


def _engine_class(ingest_argv: list[str] | None) -> Any:
    from core.engine import Engine
    from core.outbox.ratelimit import RateLimiters
    from core.outbox.worker import OutboxWorker

    class BenchEngine(Engine):
        """The demo engine with only the outbox worker and the relay, unpaced; the sandbox in
        a process of its own, and the relay's ingest too given ``ingest_argv``. The sandbox
        starts first (an ingest process builds its adapters from it); it is told the relay's
        URL once the relay listens."""

        async def _start_relay(self) -> None:
            self.sandbox = await _SandboxProcess.start()
            os.environ[ingest_child.SANDBOX_ENV] = self.sandbox.described()
            await super()._start_relay()
            assert self.relay_url is not None
            self.sandbox.tell(self.relay_url)

        def _ingest_argv(self) -> list[str] | None:
            return ingest_argv

        async def _start_sandbox(self, channels: list[Any]) -> list[Any]:
            pointed: list[Any] = self._pointed_at_sandbox(channels)
            return pointed

        def _add_workers(self) -> None:
            assert self.runtime is not None
            limiters = RateLimiters(lambda _name, _rate: _Unpaced())
            worker = OutboxWorker(
                self.service.ctx, self.runtime, self.settings.orchestrator, limiters=limiters
            )
            self.supervisor.add("outbox", worker.run_forever)

    return BenchEngine


class _Observer:
    """The status counts of a broadcast, from ``core.bench.status_poll``'s process."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, path: Path, broadcast_id: str) -> _Observer:
        """Start counting ``broadcast_id``'s messages in ``path``."""
        argv = ["-m", "core.bench.status_poll", str(path), broadcast_id]
        process = await asyncio.create_subprocess_exec(
            sys.executable, *argv, stdin=PIPE, stdout=PIPE
        )
        return cls(process)

    async def counts(self) -> dict[str, int]:
        """The next count (one a second)."""
        assert self.process.stdout is not None
        line = await self.process.stdout.readline()
        if not line:
            raise RuntimeError("the status observer stopped")
        found: dict[str, int] = json.loads(line)
        return found

    async def stop(self) -> None:
        """Close its input; it ends."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        await self.process.wait()


def _settled(counts: dict[str, int]) -> int:
    return sum(n for status, n in counts.items() if status in SETTLED or status == "none")


async def run(
    path: Path, tenant: str, count: int, ingest_process: bool = False
) -> dict[str, object]:
    """Queue a broadcast to the first ``count`` prospects of ``path``; wait until settled
    (with ``ingest_process``, the relay's ingest runs in a process of its own)."""
    from core.config.settings import Settings

    ids = first_prospects(path, count)
    url = sqlite_url(path)
    usage_file = path.with_name(path.name + ".ingest-usage.json")
    os.environ[ingest_child.USAGE_ENV] = str(usage_file)
    db = await Database.open(url)
    engine = None
    sandbox: _SandboxProcess | None = None
    try:
        service = await broadcasting_service(db, tenant)
        settings = await service.tenant_settings.get()
        settings.quiet_hours.enabled = False  # the same run at any hour
        await service.tenant_settings.save(settings)
        argv = ingest_child.argv(url, tenant) if ingest_process else None
        engine = _engine_class(argv)(service, Settings(mode="demo", tenant=tenant))
        settle_collector()  # as in the app, which starts its engine once settled
        await engine.start()
        sandbox = engine.sandbox
        draft = ReplyDraft(text=TEXT, message_type=MessageType.MARKETING)
        start, cpu = time.perf_counter(), time.process_time()
        broadcast_id = await service.outbound.broadcast(ids, draft)
        queued = time.perf_counter() - start
        counts, elapsed = await _until_settled(path, broadcast_id, len(ids), start)
        cpu = time.process_time() - cpu
    finally:
        if engine is not None:
            await engine.stop()
        await db.close()
    ingest = json.loads(usage_file.read_text()) if usage_file.exists() else {}
    return {
        "prospects": len(ids),
        "settled": _settled(counts),
        "queue_seconds": queued,
        "seconds": elapsed,
        "statuses": counts,
        "cpu_seconds": cpu,
        "peak_rss_mb": vm_hwm_kb("self") / 1024,
        "ingest": ingest,
        "sandbox": sandbox.usage if sandbox is not None else {},
    }


async def _until_settled(
    path: Path, broadcast_id: str, total: int, start: float
) -> tuple[dict[str, int], float]:
    """The last counts, and the seconds from ``start`` to the last message settled (or to
    the last change before ``STALL_SECONDS`` without one)."""
    observer = await _Observer.start(path, broadcast_id)
    try:
        counts = await observer.counts()
        settled, last_change = _settled(counts), time.perf_counter()
        while settled < total and time.perf_counter() - last_change < STALL_SECONDS:
            counts = await observer.counts()
            if _settled(counts) != settled:
                settled, last_change = _settled(counts), time.perf_counter()
    finally:
        await observer.stop()
    return counts, last_change - start


if __name__ == "__main__":
    apart = "--ingest-process" in sys.argv[4:]
    found = asyncio.run(run(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), apart))
    print(json.dumps(found), flush=True)
