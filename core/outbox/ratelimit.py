"""A token bucket per adapter: never call a provider faster than it accepts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Protocol

from core.pacing import TokenBucket as Bucket


class TokenBucket:
    """``rate`` calls per second on average, bursts of up to ``burst``; waits for its turn.

    ``monotonic`` and ``sleep`` are injectable so tests need not wait.
    """

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._bucket = Bucket(rate, max(1.0, burst), monotonic)
        self.rate = rate
        self.burst = self._bucket.capacity
        self._sleep = sleep
        self._lock = asyncio.Lock()

    async def acquire(self) -> float:
        """Wait for a token; returns how long it waited (seconds)."""
        waited = 0.0
        async with self._lock:
            while (delay := self._bucket.take()) > 0:
                await self._sleep(delay)
                waited += delay
        return waited


class Pace(Protocol):
    """Something that makes a caller wait for its turn (a bucket here, a shared pace in team
    mode: ``core.team.rate_limit``)."""

    async def acquire(self) -> float: ...


class RateLimiters:
    """One bucket per adapter name, built from its capabilities on first use.

    ``factory(name, rate)`` builds the buckets when given (team mode shares them between
    processes); otherwise each is a ``TokenBucket`` of this process with ``burst``,
    ``monotonic`` and ``sleep``.
    """

    def __init__(
        self,
        factory: Callable[[str, float], Pace] | None = None,
        *,
        burst: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._buckets: dict[str, Pace] = {}
        self._factory = factory
        self._local = partial(TokenBucket, burst=burst, monotonic=monotonic, sleep=sleep)

    def bucket(self, name: str, rate: float) -> Pace:
        """The bucket of adapter ``name`` (``rate`` calls per second)."""
        if name not in self._buckets:
            if self._factory is not None:
                self._buckets[name] = self._factory(name, rate)
            else:
                self._buckets[name] = self._local(rate)
        return self._buckets[name]
