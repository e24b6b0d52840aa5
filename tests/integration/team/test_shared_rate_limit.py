"""A provider's rate limit holds across every sending process sharing the database."""

from __future__ import annotations

import asyncio
import time

import pytest

from core.team.rate_limit import SharedPace

pytestmark = pytest.mark.postgres


async def test_three_senders_together_respect_one_call_per_second(pg_schema) -> None:
    dbs = [await pg_schema.open() for _ in range(3)]  # three processes' database handles
    paces = [SharedPace(db, "1:twilio_sms", rate=4.0) for db in dbs]
    calls: list[float] = []

    async def sender(pace: SharedPace) -> None:
        for _ in range(4):
            await pace.acquire()
            calls.append(time.monotonic())

    try:
        await asyncio.gather(*(sender(p) for p in paces))
    finally:
        for db in dbs:
            await db.close()
    calls.sort()
    # 12 calls at 4/s take at least 11 intervals of 0.25 s, whoever sends (10 ms of clock
    # slack); three buckets of their own would have let them through in about 0.75 s. A loaded
    # machine only makes it slower, so the bound holds at any load.
    assert calls[-1] - calls[0] >= 11 * 0.25 - 0.01


async def test_a_burst_allowance_lets_the_first_calls_through(pg_schema) -> None:
    db = await pg_schema.open()
    try:
        pace = SharedPace(db, "1:meta", rate=1.0, burst=3)
        waits = [await pace.acquire() for _ in range(3)]
        assert waits == [0.0, 0.0, 0.0]
        assert await pace.acquire() > 0.5
    finally:
        await db.close()
