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
    asked: list[float] = []  # when each call asked for its slot
    granted: list[float] = []  # when each call was let through

    async def sender(pace: SharedPace) -> None:
        for _ in range(4):
            asked.append(time.monotonic())
            await pace.acquire()
            granted.append(time.monotonic())

    try:
        await asyncio.gather(*(sender(p) for p in paces))
    finally:
        for db in dbs:
            await db.close()
    # 12 calls at 4/s take at least 11 intervals of 0.25 s, whoever sends; three buckets of
    # their own would have let them through in about 0.75 s. Timed from the first call's asking
    # (its slot cannot come before it asked) to the last one's release (which cannot come before
    # its slot), so a slow first round trip cannot eat into the bound; a loaded machine only
    # makes the span longer. 10 ms of slack for the two clocks.
    assert max(granted) - min(asked) >= 11 * 0.25 - 0.01


async def test_a_burst_allowance_lets_the_first_calls_through(pg_schema) -> None:
    db = await pg_schema.open()
    try:
        pace = SharedPace(db, "1:meta", rate=1.0, burst=3)
        waits = [await pace.acquire() for _ in range(3)]
        assert waits == [0.0, 0.0, 0.0]
        assert await pace.acquire() > 0.5
    finally:
        await db.close()
