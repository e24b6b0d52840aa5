"""Garbage-collector pauses, timed with ``gc.callbacks`` while a measurement runs."""

from __future__ import annotations

import gc
import time
from types import TracebackType
from typing import Any


class GcPauses:
    """Every collection's duration (milliseconds) and generation, between enter and exit.

    ``durations`` is the collector's own work, in the CPU time of the thread it ran in (the one
    it paused): on a shared machine the wall time of a collection also counts the moments the
    scheduler gave the CPU to another process, which no collector setting changes, and the
    process's CPU time would also count the app's other threads (SQLite's, running its queries
    without the GIL) on the other core. ``wall`` keeps the wall times too.

    with GcPauses() as pauses:
        ...
    max(pauses.durations, default=0.0)
    """

    def __init__(self) -> None:
        self.durations: list[float] = []
        self.wall: list[float] = []
        self.generations: list[int] = []
        #: Objects each collection freed (unreachable cycles and what only they held).
        self.collected: list[int] = []
        self._started: tuple[float, float] | None = None

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = (time.thread_time(), time.perf_counter())
        elif self._started is not None:
            cpu, wall = self._started
            self.durations.append((time.thread_time() - cpu) * 1000)
            self.wall.append((time.perf_counter() - wall) * 1000)
            self.generations.append(int(info.get("generation", -1)))
            self.collected.append(int(info.get("collected", 0)))
            self._started = None

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        gc.callbacks.remove(self._callback)

    @property
    def longest(self) -> float:
        """The longest pause, 0 when the collector never ran."""
        return max(self.durations, default=0.0)

    def details(self) -> dict[str, Any]:
        """How many collections of each generation, the longest, and the objects they freed,
        for the report (counts do not depend on the machine's load, durations do)."""
        generations = sorted(set(self.generations))
        counts = {str(g): self.generations.count(g) for g in generations}
        longest = {
            str(g): round(
                max(d for d, n in zip(self.durations, self.generations, strict=True) if n == g), 2
            )
            for g in generations
        }
        freed = {
            str(g): sum(c for c, n in zip(self.collected, self.generations, strict=True) if n == g)
            for g in generations
        }
        return {
            "collections": counts,
            "collected": freed,
            "longest_ms": longest,
            "longest_wall_ms": round(max(self.wall, default=0.0), 2),
        }
