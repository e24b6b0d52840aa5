"""The analytics benchmark stays runnable (its timings are not checked here)."""

from __future__ import annotations

import asyncio

from core.bench import analytics as bench


def test_the_bench_runs_on_a_small_dataset_and_reuses_a_kept_database(tmp_path, capsys) -> None:
    kept = tmp_path / "bench.db"
    for _ in range(2):  # generated, then reused
        asyncio.run(bench._main(60, 2, kept))
    first, second = capsys.readouterr().out.strip().split("\n60 conversations")
    assert first.startswith("60 conversations") and first.count("\n") == 9
    assert "cold" in second and "p50" in second and "after a write" in second
    for name in ("preferred_channels", "insights", "warm-up batch", "storing", "first read after"):
        assert name in first and name in second
    assert bench._count(kept) == int(first.split(", ")[1].split()[0])


async def test_stored_days_add_up_to_one_pass_over_the_messages(tmp_path) -> None:
    """On the bench's random year: the rollups, a day at a time, give what one pass gives."""
    from datetime import UTC, datetime

    from core.analytics.aggregate import aggregate
    from core.analytics.period import Period
    from core.analytics.stats import channel_stats, per_channel
    from core.storage.database import Database, sqlite_url

    path = tmp_path / "bench.db"
    await bench.build(path, 300)
    db = await Database.open(sqlite_url(path))
    try:
        period = Period.last_days(365, datetime(2025, 12, 31, 12, tzinfo=UTC))
        stored = {s.channel: s for s in await channel_stats(db, 1, period)}
        async with db.session() as session:
            once = per_channel(await aggregate(session, 1, period.start, period.end))
    finally:
        await db.close()
    assert set(stored) == set(once)
    for channel, counters in once.items():
        numbers = stored[channel]
        for name in ("sent", "delivered", "opened", "clicked", "failed", "received"):
            assert getattr(numbers, name) == getattr(counters, name), (channel, name)
        assert (numbers.answered, numbers.conversions) == (counters.answered, counters.conversions)
        assert numbers.total_cost * 1_000_000 == counters.cost_micros
        assert numbers.conversions > 0 and numbers.answered > 0
