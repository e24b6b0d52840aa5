"""Running a relay process: the HTTP server, and (unless told not to) the ingest worker.

    await serve(service, adapters, config, host="0.0.0.0", port=8787, stop=stop_event)

Used by ``coccinelle relay`` and by the app in-process. The ingest worker is woken by each
commit of new events, and processes on start whatever a previous run left pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from aiohttp import web

from core.channels.adapter import ChannelAdapter
from core.ingest.worker import IngestWorker
from core.relay.feeders import pollers_for
from core.relay.ingest_process import IngestProcess
from core.relay.port import RelayPortInUse, in_use
from core.relay.server import AdapterLookup, Relay, RelayConfig
from core.service import InboxService

log = logging.getLogger(__name__)


async def serve(
    service: InboxService,
    adapters: AdapterLookup,
    config: RelayConfig,
    *,
    host: str,
    port: int,
    stop: asyncio.Event,
    ingest: bool = True,
    ingest_process: Sequence[str] | None = None,
    poll: Sequence[ChannelAdapter] = (),
    on_ready: Callable[[str, int], None] | None = None,
) -> None:
    """Serve until ``stop`` is set; ``on_ready`` gets the address actually bound.

    ``poll`` lists adapters to poll (those whose ``capabilities.polling`` is set) besides
    the webhooks. With ``ingest_process`` (a command line), ingest runs in that child process
    on the same database (``core.relay.ingest_process``) instead of in this event loop.

    Raises:
        RelayPortInUse: another process already listens on ``host:port``.
    """
    relay = Relay(service.db, adapters, config)
    worker = None
    child = IngestProcess(ingest_process) if ingest and ingest_process else None
    if child is not None:
        relay.writer.on_commit.append(child.wake)
        relay.writer.on_lock_wait.append(child.want_lock)
    elif ingest:
        worker = IngestWorker(service.ctx, adapters, booking=service.booking)
        relay.writer.on_commit.append(worker.wake)
        worker.busy = relay.busy
    runner = web.AppRunner(relay.app(), access_log=None)
    await runner.setup()
    if runner.server is not None:  # set by setup()
        relay.answer_directly(runner.server)
    tasks: list[asyncio.Task[None]] = []
    try:
        await _listen(runner, host, port)
        bound = _bound_port(runner, port)
        if worker is not None:
            tasks.append(asyncio.create_task(worker.run(stop)))
        if child is not None:
            await child.start()
        for poller in pollers_for(relay.writer, list(poll), config.tenant_id):
            tasks.append(asyncio.create_task(poller.run(stop)))
        if on_ready is not None:
            on_ready(host, bound)
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await runner.cleanup()
        if child is not None:
            await child.stop()


async def _listen(runner: web.AppRunner, host: str, port: int) -> None:
    """Bind ``host:port``.

    Raises:
        RelayPortInUse: another process holds the address.
    """
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        if in_use(exc):
            raise RelayPortInUse(host, port) from None
        raise


def _bound_port(runner: web.AppRunner, default: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return default
