"""A provider's rate limit held across every process that sends (team mode).

Each outbox worker paces its calls with a token bucket, but K processes each keeping their own
bucket send K times faster than the provider allows. Here the pace lives in PostgreSQL: one row
per key holds the time the next call may start (the generic cell rate algorithm), and each call
reserves its slot with one atomic statement, then waits for it. The clock is the database
server's, so the processes' clocks need not agree.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy import text

from core.storage.database import Database

_RESERVE = text(
    """
    INSERT INTO provider_pace AS pace (key, next_at)
    VALUES (:key, clock_timestamp() + make_interval(secs => :interval))
    ON CONFLICT (key) DO UPDATE
        SET next_at = GREATEST(pace.next_at, clock_timestamp())
            + make_interval(secs => :interval)
    RETURNING EXTRACT(EPOCH FROM (
        pace.next_at - make_interval(secs => :interval) - clock_timestamp()
    ))
    """
)


class SharedPace:
    """``rate`` calls per second for ``key`` across every process, bursts of up to ``burst``.

    Same interface as ``core.outbox.ratelimit.TokenBucket``.
    """

    def __init__(
        self,
        db: Database,
        key: str,
        rate: float,
        burst: float = 1.0,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.db = db
        self.key = key[:120]
        self.interval = 1.0 / rate
        self.tolerance = (max(1.0, burst) - 1.0) * self.interval
        self._sleep = sleep

    async def acquire(self) -> float:
        """Reserve the next slot and wait for it; returns how long it waited (seconds)."""
        async with self.db.session() as session:
            ahead = await session.execute(_RESERVE, {"key": self.key, "interval": self.interval})
            wait = float(ahead.scalar_one()) - self.tolerance
        if wait > 0:
            await self._sleep(wait)
            return wait
        return 0.0
