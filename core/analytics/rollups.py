"""Daily rollups: a settled day's counters per channel, stored once in ``channel_analytics``.

A day is settled ``SETTLE`` after it ends: by then its messages' statuses and replies have come
in, so its counters no longer change. Days not yet settled (and parts of days) are always
computed from the messages. ``rebuild`` drops stored days, for an event that came later still.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.analytics.aggregate import Counters, Key, aggregate
from core.analytics.period import day_start
from core.storage import tables as t

SETTLE = timedelta(days=3)
DAILY = "daily"
NO_DATA = "*"
R = t.ChannelAnalyticsRow


def settled(day: date, now: datetime) -> bool:
    """Whether ``day``'s counters can no longer change."""
    return day_start(day + timedelta(days=1)) + SETTLE <= now


async def load(
    session: AsyncSession, tenant_id: int, first: date, last: date
) -> tuple[dict[Key, Counters], set[date]]:
    """Stored counters of the days [first, last], and which days are stored."""
    query = select(R.channel_type, R.recorded_at, R.details).where(
        R.tenant_id == tenant_id,
        R.metric_type == DAILY,
        R.recorded_at >= day_start(first),
        R.recorded_at < day_start(last + timedelta(days=1)),
    )
    counters: dict[Key, Counters] = {}
    days: set[date] = set()
    for channel, recorded_at, details in (await session.execute(query)).all():
        day = recorded_at.date()
        days.add(day)
        if channel != NO_DATA and details:
            counters[(day, channel)] = Counters.from_json(details)
    return counters, days


async def build(
    session: AsyncSession, tenant_id: int, first: date, last: date, now: datetime
) -> dict[Key, Counters]:
    """Compute and store the days [first, last] (all settled); return their counters."""
    start, end = day_start(first), day_start(last + timedelta(days=1))
    counters = await aggregate(session, tenant_id, start, end, now)
    await session.execute(
        delete(R).where(
            R.tenant_id == tenant_id,
            R.metric_type == DAILY,
            R.recorded_at >= start,
            R.recorded_at < end,
        )
    )
    day = first
    while day <= last:
        session.add(
            R(
                tenant_id=tenant_id,
                channel_type=NO_DATA,
                metric_type=DAILY,
                recorded_at=day_start(day),
            )
        )
        day += timedelta(days=1)
    for (day, channel), values in counters.items():
        session.add(
            R(
                tenant_id=tenant_id,
                channel_type=channel,
                metric_type=DAILY,
                metric_value=float(values.sent),
                details=values.to_json(),
                recorded_at=day_start(day),
            )
        )
    for values in counters.values():
        values.response_times = None  # as if read back: stored days are approximate
    return counters


async def rebuild(session: AsyncSession, tenant_id: int, start: datetime, end: datetime) -> int:
    """Forget the stored days between ``start`` and ``end``; return how many rows went."""
    result = await session.execute(
        delete(R).where(
            R.tenant_id == tenant_id,
            R.metric_type == DAILY,
            R.recorded_at >= start,
            R.recorded_at < end,
        )
    )
    return result.rowcount or 0
