"""What a measurement yields: samples summarised, a reference point, a target, a ratio.

Latencies are in milliseconds, rates in items per second, memory in megabytes, counts plain
(``n``: fewer is better, like a time). The ratio is
always "how many times the reference's cost": ours / reference for a time, reference / ours for a
rate, so 1.0 means as fast as the bare reference and 3.0 means three times slower.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Unit = Literal["ms", "/s", "MB", "n"]
Stat = Literal["median", "p95", "p99", "max", "value"]


def percentile(samples: list[float], q: float) -> float:
    """The ``q`` percentile (0–100) of ``samples``, nearest rank."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Summary:
    """Median and tail of a set of samples."""

    median: float
    p95: float
    p99: float
    runs: int
    max: float = 0.0

    @classmethod
    def of(cls, samples: list[float]) -> Summary:
        """Summarise ``samples`` (at least one)."""
        return cls(
            statistics.median(samples),
            percentile(samples, 95),
            percentile(samples, 99),
            len(samples),
            max(samples),
        )

    def get(self, stat: Stat) -> float:
        """One statistic by name (``value`` is the median)."""
        return self.median if stat == "value" else getattr(self, stat)


@dataclass(frozen=True)
class Target:
    """The issue's floor for a measurement: ``stat`` must stay under (or over) ``bound``."""

    stat: Stat
    bound: float
    at_least: bool = False

    def met(self, summary: Summary) -> bool:
        """Whether ``summary`` meets the target."""
        value = summary.get(self.stat)
        return value >= self.bound if self.at_least else value <= self.bound


@dataclass(frozen=True)
class Result:
    """One row of the bench table."""

    name: str
    unit: Unit
    summary: Summary
    stat: Stat = "median"
    """The statistic the ratio (and the target) is about."""
    reference: str | None = None
    reference_summary: Summary | None = None
    target: Target | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """Our cost in units of the reference's (see the module docstring)."""
        if self.reference_summary is None:
            return None
        ours, ref = self.summary.get(self.stat), self.reference_summary.get(self.stat)
        if self.unit == "/s":
            ours, ref = ref, ours
        return ours / ref if ref > 0 else None

    @property
    def met(self) -> bool | None:
        """Whether the target is met (None without one)."""
        return None if self.target is None else self.target.met(self.summary)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        data["ratio"] = self.ratio
        data["met"] = self.met
        return data
