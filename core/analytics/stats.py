"""Channel statistics over a period: the seed's fields plus responses, conversions and costs.

``channel_stats(db, tenant_id, period)`` sums the stored daily rollups of the period's whole
days (recomputing first the days the triggers marked stale, see ``rollups``) and counters
computed from the messages for the parts of days at its ends. A year of statistics is then a
two-query check that nothing changed plus sums kept in memory. The median first-response time
is exact while every stored day of the period kept its response times (days with at most
``EXACT_TIMES`` answers per channel), and read from a log-scale histogram (±4.5 %) otherwise
(``median_exact`` says which).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from core.analytics import rollups
from core.analytics.aggregate import Counters, Key, aggregate, bucket_value
from core.analytics.period import Period, day_start
from core.analytics.rollups import RollupCache
from core.storage.database import Database

MICROS = Decimal(1_000_000)
#: Channels whose provider reports no delivery, read or click (a Telegram bot hears none of
#: them): there, those counts are unknown rather than zero, and so are the rates built on them.
NO_RECEIPTS = frozenset({"telegram"})
#: The counts a channel without receipts cannot know.
RECEIPT_COUNTS = ("delivered", "opened", "clicked")


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
    #: False when the provider reports no delivery or read (``NO_RECEIPTS``).
    receipts: bool = True

    @classmethod
    def from_counters(cls, channel: str, c: Counters) -> ChannelStats:
        """Rates and averages from the counters."""
        cost = Decimal(c.cost_micros) / MICROS
        priced = c.sent - c.unpriced
        receipts = channel not in NO_RECEIPTS
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
            delivery_rate=_ratio(c.delivered, c.sent) if receipts else None,
            open_rate=_ratio(c.opened, c.delivered) if receipts else None,
            click_rate=_ratio(c.clicked, c.delivered) if receipts else None,
            response_rate=_ratio(c.answered, c.sent),
            conversion_rate=_ratio(c.conversions, c.sent),
            avg_first_response=c.response_seconds / c.answered if c.answered else None,
            median_first_response=_median(c),
            median_exact=c.response_times is not None,
            avg_delivery_time=(c.delivery_seconds / c.delivery_count if c.delivery_count else None),
            total_cost=cost,
            avg_cost=(cost / priced) if priced else None,
            receipts=receipts,
        )


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _median(c: Counters) -> float | None:
    if not c.answered:
        return None
    if c.median is None:
        if c.response_times is not None:
            c.median = statistics.median(c.response_times)
        else:
            lower, upper = (c.answered - 1) // 2, c.answered // 2
            c.median = (_nth(c, lower) + _nth(c, upper)) / 2
    return c.median


def _nth(c: Counters, index: int) -> float:
    seen = 0
    for bucket in sorted(c.response_histogram):
        seen += c.response_histogram[bucket]
        if seen > index:
            return bucket_value(bucket)
    raise AssertionError("the histogram holds every answer")  # pragma: no cover


async def daily_counters(
    db: Database, tenant_id: int, period: Period, cache: RollupCache | None = None
) -> dict[Key, Counters]:
    """Counters per (day, channel) over ``period``: rollups for whole days, messages elsewhere.

    ``cache`` keeps the stored days read so far (one per tenant); the counters it holds are
    shared, so callers must not change them.
    """
    cache = RollupCache() if cache is None else cache
    whole = period.whole_days()
    result: dict[Key, Counters] = {}
    if whole:
        await _bring_up_to_date(db, tenant_id, whole, cache)
        for day in whole:
            for channel, counters in cache.days[day].items():
                result[(day, channel)] = counters
    for start, end in _edges(period, whole):
        async with db.session() as session:
            _merge_into(result, await aggregate(session, tenant_id, start, end))
    return result


async def _bring_up_to_date(db: Database, tenant_id: int, whole: list, cache: RollupCache) -> None:
    """Refresh the stale and never-stored days of ``whole``; leave them all in ``cache``."""
    async with db.session() as session:
        stale = await rollups.stale_days(session, tenant_id, whole[0], whole[-1])
        await cache.sync(session, tenant_id)
    wanted = stale | {day for day in whole if day not in cache.days}
    if wanted:
        async with db.session() as session:
            await rollups.refresh(session, tenant_id, wanted)
        async with db.session() as session:
            await cache.sync(session, tenant_id)


def _edges(period: Period, whole: list) -> list[tuple]:
    if not whole:
        return [(period.start, period.end)]
    edges = [
        (period.start, day_start(whole[0])),
        (day_start(whole[-1] + timedelta(days=1)), period.end),
    ]
    return [(start, end) for start, end in edges if start < end]


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


async def channel_totals(
    db: Database, tenant_id: int, period: Period, cache: RollupCache | None = None
) -> dict[str, Counters]:
    """The period's counters per channel (the sums of its stored days kept in ``cache``).

    The counters may be the cache's own: callers must not change them.
    """
    cache = RollupCache() if cache is None else cache
    counters = await daily_counters(db, tenant_id, period, cache)
    whole = period.whole_days()
    if not whole:
        return per_channel(counters)
    first, last = whole[0], whole[-1]
    live = {key: c for key, c in counters.items() if not first <= key[0] <= last}
    if not live:  # the sums kept in the cache, as they are (and their medians, once computed)
        return dict(cache.totals_of(first, last))
    totals = per_channel(live)
    for channel, stored in cache.totals_of(first, last).items():
        totals.setdefault(channel, Counters()).merge(stored)
    return totals


async def channel_stats(
    db: Database, tenant_id: int, period: Period, cache: RollupCache | None = None
) -> list[ChannelStats]:
    """Per channel with any activity in ``period``, most messages sent first."""
    totals = await channel_totals(db, tenant_id, period, cache)
    stats = [ChannelStats.from_counters(channel, c) for channel, c in totals.items()]
    return sorted(stats, key=lambda s: (-s.sent, -s.received, s.channel))
