"""The engine computes the analytics' daily rollups ahead of reading (SQLite and PostgreSQL).

After the warmer has run, a read of the year finds nothing to compute: no day stale, none
missing, and ``rollups.refresh`` (the read path's computation) is never called. What it stored
is what one pass over the messages gives.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.analytics import rollups
from core.analytics.aggregate import aggregate
from core.analytics.period import Period
from core.analytics.stats import per_channel
from core.analytics.warmup import HORIZON_DAYS, RollupWarmer
from core.config.settings import RelaySettings, Settings
from core.domain.enums import Channel, Direction
from core.engine import Engine
from core.storage import tables as t
from tests.factories import add_message, add_prospect

YEAR = HORIZON_DAYS


@pytest.fixture
async def history(service, clock):
    """Three prospects writing and being written to on two channels over the last 40 days."""
    now = clock.now
    for n, name in enumerate(("Marie", "Jean", "Léa")):
        prospect = await add_prospect(service, name, phone=f"+3361111111{n}", email=f"{n}@x.fr")
        for day in range(0, 40, 3 + n):
            moment = now - timedelta(days=day, hours=n + 1)
            channel = Channel.SMS if day % 2 else Channel.EMAIL
            await add_message(
                service, prospect, "Bonjour", channel=channel, direction=Direction.OUTBOUND,
                at=moment,
            )  # fmt: skip
            await add_message(
                service, prospect, "Oui", channel=channel, at=moment + timedelta(minutes=20)
            )
    return service


def forbid_computing_on_read(monkeypatch) -> list:
    calls: list = []

    async def refresh(session, tenant_id, days):
        calls.append(sorted(days))

    monkeypatch.setattr(rollups, "refresh", refresh)
    return calls


async def test_after_warming_a_read_of_the_year_computes_nothing(history, monkeypatch) -> None:
    service = history
    warmer = RollupWarmer(service.ctx, batch_days=7, pause=0)
    assert len(await warmer.pending()) == YEAR  # nothing stored yet: every day is missing
    batches = record_batches(monkeypatch)
    assert await warmer.warm() == YEAR
    assert await warmer.pending() == []
    assert batches and max(batches) <= 7 and sum(batches) == YEAR
    calls = forbid_computing_on_read(monkeypatch)
    period = Period.last_days(YEAR, service.ctx.now())
    stats = {s.channel: s for s in await service.analytics.channel_stats(period)}
    assert calls == []
    async with service.db.session() as session:
        once = per_channel(
            await aggregate(session, service.ctx.tenant_id, period.start, period.end)
        )
    assert set(stats) == {"sms", "email"}
    for channel, counters in once.items():
        assert (stats[channel].sent, stats[channel].received, stats[channel].answered) == (
            counters.sent,
            counters.received,
            counters.answered,
        )


async def warm_the_year(service) -> None:
    """Warm every day of the horizon at once: the state the tests below start from (warming it
    batch by batch is test_after_warming_a_read_of_the_year_computes_nothing's; 365 batches of
    one day cost 1.5 minutes on a loaded PostgreSQL)."""
    assert await RollupWarmer(service.ctx, batch_days=YEAR, pause=0).warm() == YEAR


async def test_a_late_write_is_warmed_again_alone(history, clock, monkeypatch) -> None:
    service = history
    warmer = RollupWarmer(service.ctx, pause=0)
    await warm_the_year(service)
    prospect = await add_prospect(service, "Nina", phone="+33699999999")
    await add_message(service, prospect, "Bonjour ?", at=clock.now - timedelta(days=12))
    pending = await warmer.pending()
    assert pending == [(clock.now - timedelta(days=12)).date()]
    assert await warmer.warm() == 1
    calls = forbid_computing_on_read(monkeypatch)
    await service.analytics.channel_stats(Period.last_days(90, clock.now))
    assert calls == []


async def test_two_warmers_at_once_leave_every_day_stored_once(history, clock) -> None:
    service = history
    first = RollupWarmer(service.ctx, batch_days=5, pause=0)
    second = RollupWarmer(service.ctx, batch_days=5, pause=0)
    done = await asyncio.gather(first.warm(), second.warm())
    assert sum(done) >= YEAR and await first.pending() == []
    async with service.db.session() as session:
        rows = await session.execute(
            select(t.ChannelAnalyticsRow.recorded_at, func.count())
            .where(t.ChannelAnalyticsRow.channel_type == rollups.NO_DATA)
            .group_by(t.ChannelAnalyticsRow.recorded_at)
        )
        markers = dict(rows.all())
    assert len(markers) == YEAR and set(markers.values()) == {1}


async def test_a_write_while_a_batch_is_computed_is_not_lost(history, clock, monkeypatch) -> None:
    """The batch's marks are taken before the messages are read: a message stored meanwhile
    marks its day again, and the next pass counts it."""
    service = history
    warmer = RollupWarmer(service.ctx, batch_days=1, pause=0)
    await warm_the_year(service)
    day = clock.now - timedelta(days=5)
    prospect = await add_prospect(service, "Nina", phone="+33699999999")
    await add_message(service, prospect, "Premier", at=day)
    aggregate_first = rollups.aggregate
    written: list[int] = []

    async def with_a_write_meanwhile(session, tenant_id, start, end):
        found = await aggregate_first(session, tenant_id, start, end)
        if not written:  # once, between reading the messages and storing the day
            written.append((await add_message(service, prospect, "Entre-temps", at=day))[1])
        return found

    monkeypatch.setattr(rollups, "aggregate", with_a_write_meanwhile)
    assert await warmer.warm() >= 2  # the day, then the day again once marked by the write
    assert written and await warmer.pending() == []
    calls = forbid_computing_on_read(monkeypatch)
    stats = await service.analytics.channel_stats(Period.last_days(YEAR, clock.now))
    assert calls == []
    async with service.db.session() as session:
        period = Period.last_days(YEAR, clock.now)
        once = per_channel(
            await aggregate(session, service.ctx.tenant_id, period.start, period.end)
        )
    assert {s.channel: s.received for s in stats} == {c: v.received for c, v in once.items()}


async def test_the_engine_warms_the_rollups_in_the_background(history, clock, monkeypatch) -> None:
    """Late writes on three days of the history, after a warm-up: the engine's worker computes
    them (a whole fresh year, at the engine's pace of a day per batch and a pause between two,
    took minutes on a loaded PostgreSQL; the year batch by batch is the warmer's own test)."""
    service = history
    await warm_the_year(service)
    prospect = await add_prospect(service, "Nina", phone="+33699999999")
    late = [clock.now - timedelta(days=day) for day in (2, 9, 30)]
    for moment in late:
        await add_message(service, prospect, "Bonjour ?", at=moment)
    warmer = RollupWarmer(service.ctx)
    assert await warmer.pending() == [moment.date() for moment in late]
    mode = "team" if service.db.dialect == "postgresql" else "local"
    settings = Settings(mode=mode, relay=RelaySettings(enabled=False))
    engine = Engine(service, settings)
    await engine.start()
    try:
        assert "analytics" in {w.name for w in engine.supervisor._workers}
        for _ in range(600):  # the engine's worker does it; this only watches
            if not await warmer.pending():
                break
            await asyncio.sleep(0.1)
        assert await warmer.pending() == []
    finally:
        await engine.stop()
    calls = forbid_computing_on_read(monkeypatch)
    await service.analytics.channel_stats(Period.last_days(YEAR, service.ctx.now()))
    assert calls == []


def record_batches(monkeypatch) -> list[int]:
    """The number of days of each batch the warmer stores."""
    sizes: list[int] = []
    store = rollups._store

    async def recorded(session, tenant_id, first, last, counters):
        sizes.append((last - first).days + 1)
        await store(session, tenant_id, first, last, counters)

    monkeypatch.setattr(rollups, "_store", recorded)
    return sizes
