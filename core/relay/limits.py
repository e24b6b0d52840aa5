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

from core.pacing import TokenBucket


@dataclass
class RateLimiter:
    """``capacity`` requests at once, refilled at ``per_second``; one bucket per key."""

    capacity: float
    per_second: float
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[Hashable, TokenBucket] = field(default_factory=dict)

    def _bucket(self, key: Hashable) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.per_second, self.capacity, self.clock)
        return bucket

    def take(self, key: Hashable) -> float:
        """Use one request of ``key``; 0 if allowed, else the seconds until one is available."""
        pause = self._bucket(key).take()
        if len(self._buckets) > 10_000:  # forget idle keys so memory stays bounded
            now = self.clock()
            self._buckets = {k: b for k, b in self._buckets.items() if now - b.stamp < 3600}
        return pause

    def blocked(self, key: Hashable) -> float:
        """Seconds ``key`` must still wait (0 when it may try), without using a request."""
        bucket = self._buckets.get(key)
        return bucket.wait() if bucket is not None else 0.0
