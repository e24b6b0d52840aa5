"""Keeping the stored daily rollups warm in the background, so the analytics screen opens fast.

Reads compute the days that are stale or were never stored (``rollups``); on a database with a
year of messages and no rollups yet, that is every day of the year at the first read. The engine
runs ``RollupWarmer.run`` beside its other workers: it computes those days ahead of the reader,
newest first, a few at a time, holding SQLite's write lock only to take a batch and to store it
(the messages are read without it), pausing between batches so that the relay, the outbox and
the screen get the database and the event loop in between.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import date
from typing import TYPE_CHECKING

from core.analytics import rollups
from core.analytics.period import Period

if TYPE_CHECKING:
    from core.storage.service_context import ServiceContext

log = logging.getLogger(__name__)

#: How far back the rollups are kept warm: the longest period the analytics screen offers.
HORIZON_DAYS = 365
#: Days computed per transaction (40–150 ms each for 2,700 messages a day on SQLite).
BATCH_DAYS = 1
#: Pause between two batches, seconds: the other writers go first.
PAUSE_SECONDS = 0.05
#: Pause between two checks once everything is warm, seconds.
IDLE_SECONDS = 30.0


class RollupWarmer:
    """Computes the pending days of the last ``horizon_days`` before anyone reads them."""

    def __init__(
        self,
        ctx: ServiceContext,
        *,
        horizon_days: int = HORIZON_DAYS,
        batch_days: int = BATCH_DAYS,
        pause: float = PAUSE_SECONDS,
    ) -> None:
        self.ctx = ctx
        self.horizon_days = horizon_days
        self.batch_days = batch_days
        self.pause = pause

    def _days(self) -> list[date]:
        return Period.last_days(self.horizon_days, self.ctx.now()).whole_days()

    async def pending(self) -> list[date]:
        """The days of the horizon a read would still compute, newest first."""
        async with self.ctx.db.session() as session:
            return await rollups.pending_days(session, self.ctx.tenant_id, self._days())

    async def warm(self, stop: asyncio.Event | None = None) -> int:
        """Compute every pending day, batch by batch; return how many were computed."""
        done = 0
        while stop is None or not stop.is_set():
            days = self._days()
            async with self.ctx.db.session() as session:
                if not await rollups.pending_days(session, self.ctx.tenant_id, days):
                    break
            count = await rollups.refresh_pending(
                self.ctx.db, self.ctx.tenant_id, days, self.batch_days
            )
            done += count
            if not count:
                break
            await asyncio.sleep(self.pause)
        return done

    async def run(self, stop: asyncio.Event) -> None:
        """Keep the horizon warm until ``stop`` is set (a supervisor worker)."""
        while not stop.is_set():
            done = await self.warm(stop)
            if done:
                log.info("analytics: %d day(s) of rollups computed ahead of reading", done)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), IDLE_SECONDS)
