"""What every measurement gets: the dataset, how many runs, how long to load, where to log."""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.bench.dataset import BenchDataset
from core.storage.database import Database, sqlite_url


class Unavailable(Exception):
    """A measurement cannot run here (its part of the product is missing); the reason says why.

    ``results`` holds what could still be measured (e.g. the reference point).
    """

    def __init__(self, reason: str, results: list[Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.results = results or []


@dataclass(frozen=True)
class BenchContext:
    """Shared inputs of the measurements."""

    dataset: BenchDataset
    runs: int = 5
    """Repetitions of each measurement (fresh processes for start-up)."""
    duration: float = 10.0
    """Seconds of sustained load for the load tests."""

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the dataset."""
        return sqlite_url(self.dataset.path)

    @contextmanager
    def copy(self, name: str) -> Iterator[Path]:
        """A copy of the dataset file beside it, removed afterwards (with its WAL files): a
        measurement that writes (marks read, queues, stores) leaves the cached dataset as
        generated, so every run starts from the same data."""
        copy = self.dataset.path.with_name(f"{self.dataset.path.stem}.{name}.db")
        shutil.copyfile(self.dataset.path, copy)
        try:
            yield copy
        finally:
            for leftover in copy.parent.glob(copy.name + "*"):
                leftover.unlink()

    @asynccontextmanager
    async def service(self) -> AsyncIterator[Any]:
        """The facade on the dataset, as the app opens it."""
        from core.service import InboxService

        db = await Database.open(self.url)
        try:
            yield await InboxService.connect(db, self.dataset.tenant)
        finally:
            await db.close()


async def timed(call: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    """(milliseconds, result) of awaiting ``call()``."""
    start = time.perf_counter()
    result = await call()
    return (time.perf_counter() - start) * 1000, result


def timed_sync(call: Callable[[], Any]) -> tuple[float, Any]:
    """(milliseconds, result) of ``call()``."""
    start = time.perf_counter()
    result = call()
    return (time.perf_counter() - start) * 1000, result
