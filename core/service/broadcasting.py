"""A broadcast's chunks queued with their reading and writing overlapped.

The main thread reads and decides a chunk (``pipeline.plan``) while SQLite's thread (the
server, on PostgreSQL) writes the one before it (``pipeline.write_plan``), each chunk in a
transaction of its own as before: one write in flight at a time, in the chunks' order. A
chunk is read only once the chunk before the one being written has committed, and a chunk
sharing a prospect with the one being written waits for it: nothing a chunk reads is written
by the chunk in flight (a chunk writes its own prospects' conversations, messages and outbox
rows; queued messages add nothing to the month's spending until sent). A crash loses at most
the uncommitted chunks whole, which a resume queues (their keys are not in the outbox); a key
already queued is never queued again (read before, and refused by the outbox's unique key).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from core.collector import collect_young, paused
from core.config.settings import OrchestratorSettings
from core.pipeline import OutgoingRequest
from core.pipeline.submit import Plan, plan, write_plan
from core.storage.database import defer_checkpoints
from core.storage.service_context import ServiceContext

#: Whether the next chunk is read while the last one is written. Off, each chunk is written
#: before the next is read (the order of before): on a machine with no core to spare the
#: overlap costs CPU (PERFORMANCE.md, "Session 10").
OVERLAP = True

#: Chunks between two collections of the young and middle generations: the collector is off
#: for the whole broadcast (``paused``), as it was for each chunk's planning and writing, since
#: its automatic collections each walked the chunks alive, planned and in flight (~5 % of the
#: CPU; PERFORMANCE.md, "Session 11"). Collecting every few chunks still frees the cycles they
#: leave, so memory stays flat.
COLLECT_EVERY = 10

#: How many WAL pages a broadcast's chunks leave before one of their commits checkpoints
#: (``defer_checkpoints``): a 500-prospect chunk writes ~2,000, so about every 8 chunks.
CHECKPOINT_PAGES = 16_000

#: How a chunk that cannot be planned apart (``plan`` gave None) is queued instead.
Serial = Callable[[list[OutgoingRequest]], Awaitable[None]]


async def queue_overlapped(
    ctx: ServiceContext,
    chunks: AsyncIterator[list[OutgoingRequest]],
    settings: OrchestratorSettings,
    serial: Serial,
) -> None:
    """Queue every chunk of ``chunks``, reading and deciding each while the previous one is
    written; ``serial`` queues a chunk that is not plain, once the write in flight is done.

    An error stops the broadcast: the chunk being written is let finish (it was whole), then
    the error is raised; cancelled, the write in flight is cancelled too (rolled back)."""
    with paused():
        await _queue(ctx, chunks, settings, serial)


async def _queue(
    ctx: ServiceContext,
    chunks: AsyncIterator[list[OutgoingRequest]],
    settings: OrchestratorSettings,
    serial: Serial,
) -> None:
    """``queue_overlapped``'s chunks, the collector being off."""
    writing: asyncio.Task[None] | None = None
    in_flight: set[int] = set()
    read = 0
    try:
        async for requests in chunks:
            read += 1
            if read % COLLECT_EVERY == 0:
                collect_young()
            ids = {request.prospect_id for request in requests}
            if writing is not None and not ids.isdisjoint(in_flight):
                await writing
                writing = None
            async with ctx.db.session() as session:
                planned = await plan(session, requests, now=ctx.now(), settings=settings)
            if writing is not None:
                await writing
                writing = None  # one write in flight, in order
            if planned is None:
                await serial(requests)
                continue
            writing, in_flight = asyncio.create_task(_write(ctx, planned)), ids
            if not OVERLAP:
                await writing
                writing = None
        if writing is not None:
            await writing
    except asyncio.CancelledError:
        if writing is not None:
            writing.cancel()
            await asyncio.gather(writing, return_exceptions=True)
        raise
    except BaseException:
        if writing is not None:
            await asyncio.gather(writing, return_exceptions=True)
        raise


async def _write(ctx: ServiceContext, planned: Plan) -> None:
    """One planned chunk written in its own transaction, its events published after."""
    async with ctx.write() as (session, events):
        await defer_checkpoints(session, CHECKPOINT_PAGES)
        await write_plan(session, planned, events)
