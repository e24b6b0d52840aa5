"""Request-rate limits of the pull API: a token bucket per key.

Failed token attempts are limited per client address (guessing tokens gets slow at once), and
requests per tenant token (a leaked token cannot hammer the database). Provider webhooks are not
limited here: behind a reverse proxy every provider shares one address, and some providers do
not retry; limit those at the proxy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    """``capacity`` requests at once, refilled at ``per_second``; one bucket per key."""

    capacity: float
    per_second: float
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[Hashable, tuple[float, float]] = field(default_factory=dict)

    def take(self, key: Hashable) -> float:
        """Use one request of ``key``; 0 if allowed, else the seconds until one is available."""
        now = self.clock()
        tokens, last = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.per_second)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.per_second
        self._buckets[key] = (tokens - 1, now)
        if len(self._buckets) > 10_000:  # forget idle keys so memory stays bounded
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 3600}
        return 0.0

    def blocked(self, key: Hashable) -> float:
        """Seconds ``key`` must still wait (0 when it may try), without using a request."""
        now = self.clock()
        tokens, last = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.per_second)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.per_second
