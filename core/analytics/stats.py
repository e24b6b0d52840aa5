"""Channel statistics over a period: the seed's fields plus responses, conversions and costs.

``channel_stats(db, tenant_id, period, now)`` merges stored daily rollups (settled whole days)
with counters computed from the messages for the rest of the period, so a year reads a few
hundred rollup rows. The median first-response time is exact when the whole period was computed
from the messages, and read from a log-scale histogram (±4.5 %) when rollups took part
(``median_exact`` says which).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from core.analytics import rollups
from core.analytics.aggregate import Counters, Key, aggregate, bucket_value
from core.analytics.period import Period, day_start
from core.storage.database import Database

MICROS = Decimal(1_000_000)


@dataclass(frozen=True)
class ChannelStats:
    """One channel's numbers over a period. Rates are fractions (0.96), times seconds."""

    channel: str
    sent: int
    delivered: int
    opened: int
    clicked: int
    failed: int
    received: int
    answered: int
    conversions: int
    delivery_rate: float | None
    open_rate: float | None
    click_rate: float | None
    response_rate: float | None
    conversion_rate: float | None
    avg_first_response: float | None
    median_first_response: float | None
    median_exact: bool
    avg_delivery_time: float | None
    total_cost: Decimal
    avg_cost: Decimal | None

    @classmethod
    def from_counters(cls, channel: str, c: Counters) -> ChannelStats:
        """Rates and averages from the counters."""
        cost = Decimal(c.cost_micros) / MICROS
        priced = c.sent - c.unpriced
        return cls(
            channel=channel,
            sent=c.sent,
            delivered=c.delivered,
            opened=c.opened,
            clicked=c.clicked,
            failed=c.failed,
            received=c.received,
            answered=c.answered,
            conversions=c.conversions,
            delivery_rate=_ratio(c.delivered, c.sent),
            open_rate=_ratio(c.opened, c.delivered),
            click_rate=_ratio(c.clicked, c.delivered),
            response_rate=_ratio(c.answered, c.sent),
            conversion_rate=_ratio(c.conversions, c.sent),
            avg_first_response=c.response_seconds / c.answered if c.answered else None,
            median_first_response=_median(c),
            median_exact=c.response_times is not None,
            avg_delivery_time=(c.delivery_seconds / c.delivery_count if c.delivery_count else None),
            total_cost=cost,
            avg_cost=(cost / priced) if priced else None,
        )


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _median(c: Counters) -> float | None:
    if not c.answered:
        return None
    if c.response_times is not None:
        return statistics.median(c.response_times)
    lower, upper = (c.answered - 1) // 2, c.answered // 2
    return (_nth(c, lower) + _nth(c, upper)) / 2


def _nth(c: Counters, index: int) -> float:
    seen = 0
    for bucket in sorted(c.response_histogram):
        seen += c.response_histogram[bucket]
        if seen > index:
            return bucket_value(bucket)
    raise AssertionError("the histogram holds every answer")  # pragma: no cover


@dataclass
class RollupCache:
    """Settled days already read (per day, then channel) and their sums per range of days.

    Settled days do not change (see ``rollups``), so one cache per tenant and process holds;
    ``rollups.rebuild`` callers clear it.
    """

    days: dict[date, dict[str, Counters]] = field(default_factory=dict)
    totals: dict[tuple[date, date], dict[str, Counters]] = field(default_factory=dict)

    def clear(self) -> None:
        """Forget everything."""
        self.days.clear()
        self.totals.clear()

    def totals_of(self, first: date, last: date) -> dict[str, Counters]:
        """The per-channel sums of the cached days [first, last]."""
        key = (first, last)
        if key not in self.totals:
            self.totals[key] = per_channel(
                {
                    (day, channel): counters
                    for day, channels in self.days.items()
                    if first <= day <= last
                    for channel, counters in channels.items()
                }
            )
        return self.totals[key]


async def daily_counters(
    db: Database,
    tenant_id: int,
    period: Period,
    now: datetime,
    cache: RollupCache | None = None,
) -> dict[Key, Counters]:
    """Counters per (day, channel) over ``period``: rollups where settled, messages elsewhere.

    ``cache`` keeps the settled days read so far (one per tenant); the counters it holds are
    shared, so callers must not change them.
    """
    cache = RollupCache() if cache is None else cache
    whole = [d for d in period.whole_days() if rollups.settled(d, now)]
    result: dict[Key, Counters] = {}
    async with db.session() as session:
        if whole:
            missing = [d for d in whole if d not in cache.days]
            await _fill_cache(session, tenant_id, missing, now, cache.days)
            for day in whole:
                for channel, counters in cache.days[day].items():
                    result[(day, channel)] = counters
            first, last = whole[0], whole[-1]
            live = [
                (period.start, day_start(first)),
                (day_start(last + timedelta(days=1)), period.end),
            ]
        else:
            live = [(period.start, period.end)]
        for start, end in live:
            if start < end:
                _merge_into(result, await aggregate(session, tenant_id, start, end, now))
    return result


async def _fill_cache(session, tenant_id: int, days: list[date], now: datetime, cache) -> None:
    if not days:
        return
    stored, present = await rollups.load(session, tenant_id, days[0], days[-1])
    for run_first, run_last in _missing_runs(days, present):
        stored.update(await rollups.build(session, tenant_id, run_first, run_last, now))
    for day in days:
        cache[day] = {}
    for (day, channel), counters in stored.items():
        if day in cache:
            cache[day][channel] = counters


def _missing_runs(days: list[date], stored: set[date]) -> list[tuple[date, date]]:
    runs: list[tuple[date, date]] = []
    for day in days:
        if day in stored:
            continue
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _merge_into(result: dict[Key, Counters], more: dict[Key, Counters]) -> None:
    for key, counters in more.items():
        if key in result:
            result[key].merge(counters)
        else:
            result[key] = counters


def per_channel(counters: dict[Key, Counters]) -> dict[str, Counters]:
    """The period's counters summed per channel."""
    totals: dict[str, Counters] = {}
    for (_, channel), values in sorted(counters.items()):
        if channel not in totals:
            totals[channel] = Counters()
        totals[channel].merge(values)
    return totals


async def channel_stats(
    db: Database,
    tenant_id: int,
    period: Period,
    now: datetime,
    cache: RollupCache | None = None,
) -> list[ChannelStats]:
    """Per channel with any activity in ``period``, most messages sent first."""
    cache = RollupCache() if cache is None else cache
    counters = await daily_counters(db, tenant_id, period, now, cache)
    whole = [d for d in period.whole_days() if rollups.settled(d, now)]
    if whole:
        first, last = whole[0], whole[-1]
        live = {key: c for key, c in counters.items() if not first <= key[0] <= last}
        totals = per_channel(live)
        for channel, settled in cache.totals_of(first, last).items():
            totals.setdefault(channel, Counters()).merge(settled)
    else:
        totals = per_channel(counters)
    stats = [ChannelStats.from_counters(channel, c) for channel, c in totals.items()]
    return sorted(stats, key=lambda s: (-s.sent, -s.received, s.channel))
