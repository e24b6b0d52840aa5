"""What a relay has done since it started, for ``/healthz``: accepted and refused webhooks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RelayCounters:
    """Counts since start; ``refused`` by reason (``signature``, ``malformed``, ...)."""

    accepted: int = 0
    duplicates: int = 0
    refused: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, Any]:
        """The counters as ``/healthz`` shows them."""
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "refused": dict(sorted(self.refused.items())),
        }
