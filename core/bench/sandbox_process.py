"""The sandbox in a process of its own, for the end-to-end broadcast (``broadcast_e2e_run``):

    python -m core.bench.sandbox_process

A provider runs on other machines: its CPU and memory are not the app's. Started clean, the
sandbox serves on loopback and prints one JSON line (base URLs, credentials, adapter options:
the app's adapters, and its relay's ingest process, are built from it); the first line of its
standard input is then the relay's URL. It posts its webhooks there every second (32 at once,
as a provider's many senders do), posts SendGrid's events of many sends together (as SendGrid
does, in batches every 30 s or 768 KB; the sandbox's default is one post per send), and forgets
the requests it answered as it goes (it keeps them for tests; here they would only grow). When
its standard input closes it prints a last line with its own CPU seconds and peak resident
memory, then exits.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from contextlib import suppress
from typing import Any

from core.bench.startup import vm_hwm_kb

#: Webhooks posted at once, as a provider's many senders do (the sandbox's default is one after
#: the other, which would make the relay's latency the bench's throughput).
POST_CONCURRENCY = 32
#: How often the sandbox forgets the requests it answered and the webhooks it posted.
FORGET_SECONDS = 0.5


async def _forget(sandbox: Any, stop: asyncio.Event) -> None:
    while not stop.is_set():
        sandbox.received.clear()
        sandbox.delivered.clear()
        sandbox.exchanges.clear()
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), FORGET_SECONDS)


async def _stdin_closed() -> None:
    """Return once the parent closes this process's standard input (or dies)."""
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.buffer.read)


async def _relay_url() -> str:
    """The relay's URL: the first line of standard input."""
    loop = asyncio.get_running_loop()
    line: bytes = await loop.run_in_executor(None, sys.stdin.buffer.readline)
    return line.decode().strip().rstrip("/")


async def serve() -> dict[str, float]:
    """Serve until standard input closes; this process's CPU seconds and peak RSS (MB)."""
    from core.channels.registry import SANDBOX_GROUP, load_plugin

    sandbox = await load_plugin(SANDBOX_GROUP, "default")(None, auto_flush=1.0)
    sandbox.post_concurrency = POST_CONCURRENCY
    sandbox.sendgrid.batch_events = True
    stop = asyncio.Event()
    forgetting = asyncio.create_task(_forget(sandbox, stop))
    ready = {
        "base_urls": sandbox.base_urls,
        "credentials": sandbox.credentials,
        "options": sandbox.options,
    }
    print(json.dumps(ready), flush=True)
    cpu = time.process_time()
    try:
        sandbox.relay_url = await _relay_url()
        await _stdin_closed()
    finally:
        stop.set()
        await forgetting
        await sandbox.stop()
    return {"cpu_seconds": time.process_time() - cpu, "peak_rss_mb": vm_hwm_kb("self") / 1024}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(serve())), flush=True)
