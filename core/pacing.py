"""Pacing: how fast something may go (a token bucket) and how long to wait after a failure
(exponential backoff). Shared by the relay's request limits, the outbox's provider limits, the
pollers, the relay puller and the worker supervisor."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


class TokenBucket:
    """``rate`` tokens a second, up to ``capacity`` saved up (the burst); starts full.

    ``clock`` (monotonic seconds) is injectable so that tests need not wait.
    """

    def __init__(
        self, rate: float, capacity: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._tokens = capacity
        #: When the bucket was last refilled (the clock's time).
        self.stamp = clock()

    def wait(self) -> float:
        """Seconds until a token is available (0: now), without taking one."""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate

    def take(self) -> float:
        """Take a token: 0 when one was taken, else the seconds until one is (nothing taken)."""
        pause = self.wait()
        if pause == 0.0:
            self._tokens -= 1
        return pause


@dataclass
class Backoff:
    """Exponential backoff: ``first`` seconds, doubling up to ``cap``; ``reset`` after a success."""

    first: float = 1.0
    cap: float = 30.0
    _next: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._next = self.first

    def next(self) -> float:
        """The pause before the next attempt (and double the one after it)."""
        pause = self._next
        self._next = min(pause * 2, self.cap)
        return pause

    def reset(self) -> None:
        """Back to ``first``: the last attempt succeeded."""
        self._next = self.first
