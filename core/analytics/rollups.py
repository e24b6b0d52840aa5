"""Daily rollups: each day's counters per channel, stored in ``channel_analytics``, kept fresh.

A day is stored once computed, with a ``NO_DATA`` marker row so that an empty day is known to be
stored. Any write that can change a stored day's counters (a message, a late status event, a
reply, a confirmation) makes the database's triggers mark that day in ``analytics_stale``
(migration 0003); ``refresh`` recomputes the marked and the never-stored days. Readers keep what
they read in a ``RollupCache``, brought up to date from the rows added since.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.analytics.aggregate import Counters, aggregate
from core.analytics.period import day_start
from core.storage import tables as t
from core.storage.database import Database
from core.storage.rows_changed import rows_changed

DAILY = "daily"
NO_DATA = "*"
EPOCH = date(1970, 1, 1)
R = t.ChannelAnalyticsRow
S = t.AnalyticsStaleRow


def day_number(day: date) -> int:
    """Days since 1970-01-01, as the triggers write them."""
    return (day - EPOCH).days


@dataclass
class RollupCache:
    """The stored days of one tenant as last read, and their sums per range of days.

    ``sync`` brings it up to date: stored days are only ever replaced whole, by rows with ids
    above all earlier ones, so the rows with an id above the last one read are the days that
    changed; a row count that then disagrees means days were dropped: everything is read again.
    """

    days: dict[date, dict[str, Counters]] = field(default_factory=dict)
    rows: dict[date, int] = field(default_factory=dict)
    last_id: int = 0
    totals: dict[tuple[date, date], dict[str, Counters]] = field(default_factory=dict)
    #: sums of stretches of days within one month, by (first, last)
    blocks: dict[tuple[date, date], dict[str, Counters]] = field(default_factory=dict)

    def clear(self) -> None:
        """Forget everything."""
        self.days.clear()
        self.rows.clear()
        self.totals.clear()
        self.blocks.clear()
        self.last_id = 0

    async def sync(self, session: AsyncSession, tenant_id: int) -> None:
        """Read the rows stored since the last call (all of them after a drop)."""
        query = select(func.count(), func.max(R.id)).where(
            R.tenant_id == tenant_id, R.metric_type == DAILY
        )
        count, last_id = (await session.execute(query)).one()
        if count == sum(self.rows.values()) and (last_id or 0) == self.last_id:
            return
        if (last_id or 0) < self.last_id:
            self.clear()
        self._replace(await _rows(session, tenant_id, self.last_id))
        if count != sum(self.rows.values()):
            self.clear()
            self._replace(await _rows(session, tenant_id, 0))
        self.totals.clear()

    def _replace(self, rows: list[tuple[int, str, datetime, dict | None]]) -> None:
        fresh: set[date] = set()
        for row_id, channel, recorded_at, details in rows:
            day = recorded_at.date()
            if day not in fresh:
                fresh.add(day)
                self.days[day], self.rows[day] = {}, 0
                month = (day.year, day.month)
                for part in [p for p in self.blocks if (p[0].year, p[0].month) == month]:
                    del self.blocks[part]
            self.rows[day] += 1
            if channel != NO_DATA and details:
                self.days[day][channel] = Counters.from_json(details)
            self.last_id = max(self.last_id, row_id)

    def totals_of(self, first: date, last: date) -> dict[str, Counters]:
        """The per-channel sums of the stored days [first, last] (all of them in the cache).

        Summed month by month: after a day changes, only its month is added up again.
        """
        key = (first, last)
        if key not in self.totals:
            sums: dict[str, Counters] = {}
            for part in _months(first, last):
                if part not in self.blocks:
                    self.blocks[part] = self._sum(*part)
                for channel, counters in self.blocks[part].items():
                    sums.setdefault(channel, Counters()).merge(counters)
            self.totals[key] = sums
        return self.totals[key]

    def _sum(self, first: date, last: date) -> dict[str, Counters]:
        sums: dict[str, Counters] = {}
        day = first
        while day <= last:
            for channel, counters in self.days.get(day, {}).items():
                sums.setdefault(channel, Counters()).merge(counters)
            day += timedelta(days=1)
        return sums


def _months(first: date, last: date) -> list[tuple[date, date]]:
    """[first, last] cut at the months' ends."""
    parts = []
    while first <= last:
        following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
        end = min(last, following - timedelta(days=1))
        parts.append((first, end))
        first = end + timedelta(days=1)
    return parts


async def _rows(session: AsyncSession, tenant_id: int, after: int) -> list:
    query = (
        select(R.id, R.channel_type, R.recorded_at, R.details)
        .where(R.tenant_id == tenant_id, R.metric_type == DAILY, R.id > after)
        .order_by(R.id)
    )
    return list((await session.execute(query)).all())


async def stale_days(session: AsyncSession, tenant_id: int, first: date, last: date) -> set[date]:
    """The days of [first, last] marked stale."""
    query = select(S.day).where(
        S.tenant_id == tenant_id, S.day >= day_number(first), S.day <= day_number(last)
    )
    return {EPOCH + timedelta(days=n) for n in (await session.scalars(query)).all()}


async def refresh(session: AsyncSession, tenant_id: int, days: Iterable[date]) -> None:
    """Recompute and store ``days`` (stale or never stored), one run of days at a time.

    Writers are serialised per tenant first (a row lock on PostgreSQL, the write lock on
    SQLite), so that two readers refreshing the same day cannot both store it. The stale marks
    go in the same transaction, before the messages are read: a write that lands meanwhile
    marks its day again.
    """
    wanted = sorted(set(days))
    if not wanted:
        return
    await _lock(session, tenant_id)
    await _rebuild(session, tenant_id, wanted)


async def stored_days(session: AsyncSession, tenant_id: int, first: date, last: date) -> set[date]:
    """The days of [first, last] that have stored rollups (read from the index alone)."""
    query = (
        select(R.recorded_at)
        .distinct()
        .where(
            R.tenant_id == tenant_id,
            R.metric_type == DAILY,
            R.recorded_at >= day_start(first),
            R.recorded_at < day_start(last + timedelta(days=1)),
        )
    )
    return {moment.date() for moment in (await session.scalars(query)).all()}


async def pending_days(session: AsyncSession, tenant_id: int, days: list[date]) -> list[date]:
    """The days of ``days`` (in order, without gaps) that a read would have to compute: marked
    stale or never stored. Newest first."""
    if not days:
        return []
    first, last = days[0], days[-1]
    stale = await stale_days(session, tenant_id, first, last)
    missing = set(days) - await stored_days(session, tenant_id, first, last)
    return sorted(stale | missing, reverse=True)


async def refresh_pending(db: Database, tenant_id: int, days: list[date], limit: int) -> int:
    """Recompute at most ``limit`` of the pending days of ``days``, newest first, in three
    transactions so that the write lock is held only to take the work and to store it.

    1. (write) the batch is chosen and its stale marks removed;
    2. (read, no lock: writers go on) the messages are aggregated;
    3. (write) the rows are stored.

    A write landing after step 1 marks its day stale again, so it is recomputed by the next
    pass: nothing is lost, at worst a day is computed twice (also when two processes warm the
    same tenant at once). Returns how many days were computed.
    """
    async with db.session() as session:
        await _lock(session, tenant_id)
        batch = sorted((await pending_days(session, tenant_id, days))[:limit])
        for first, last in _runs(batch):
            await _forget_marks(session, tenant_id, first, last)
    if not batch:
        return 0
    async with db.session() as session:
        computed = [
            (first, last, await aggregate(session, tenant_id, *_bounds(first, last)))
            for first, last in _runs(batch)
        ]
    async with db.session() as session:
        await _lock(session, tenant_id)
        for first, last, counters in computed:
            await _store(session, tenant_id, first, last, counters)
    return len(batch)


async def _lock(session: AsyncSession, tenant_id: int) -> None:
    """Serialise the tenant's rollup writers (SQLite: take the write lock now)."""
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(text("BEGIN IMMEDIATE"))
    else:
        lock = select(t.TenantRow.id).where(t.TenantRow.id == tenant_id).with_for_update()
        await session.execute(lock)


async def _rebuild(session: AsyncSession, tenant_id: int, wanted: list[date]) -> None:
    for first, last in _runs(wanted):
        await _forget_marks(session, tenant_id, first, last)
        counters = await aggregate(session, tenant_id, *_bounds(first, last))
        await _store(session, tenant_id, first, last, counters)


async def _forget_marks(session: AsyncSession, tenant_id: int, first: date, last: date) -> None:
    await session.execute(
        delete(S).where(
            S.tenant_id == tenant_id, S.day >= day_number(first), S.day <= day_number(last)
        )
    )


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    return day_start(first), day_start(last + timedelta(days=1))


async def _store(
    session: AsyncSession,
    tenant_id: int,
    first: date,
    last: date,
    counters: dict[tuple[date, str], Counters],
) -> None:
    """Replace the stored rows of [first, last] with ``counters`` (and a marker per day)."""
    start, end = _bounds(first, last)
    # The new rows go in before the old ones go, so that their ids are above every id read so
    # far (SQLite would otherwise hand the freed ids out again, and ``RollupCache`` miss them).
    replaced = (await session.scalar(select(func.max(R.id)))) or 0
    rows = [
        R(tenant_id=tenant_id, channel_type=NO_DATA, metric_type=DAILY, recorded_at=day_start(d))
        for d in _each(first, last)
    ]
    rows += [
        R(
            tenant_id=tenant_id,
            channel_type=channel,
            metric_type=DAILY,
            metric_value=float(values.sent),
            details=values.to_json(),
            recorded_at=day_start(day),
        )
        for (day, channel), values in sorted(counters.items())
    ]
    session.add_all(rows)
    await session.flush()
    await session.execute(
        delete(R).where(
            R.tenant_id == tenant_id,
            R.metric_type == DAILY,
            R.recorded_at >= start,
            R.recorded_at < end,
            R.id <= replaced,
        )
    )


def _each(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _runs(days: list[date]) -> list[tuple[date, date]]:
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


async def drop(session: AsyncSession, tenant_id: int, start: datetime, end: datetime) -> int:
    """Forget the stored days between ``start`` and ``end``; return how many rows went."""
    result = await session.execute(
        delete(R).where(
            R.tenant_id == tenant_id,
            R.metric_type == DAILY,
            R.recorded_at >= start,
            R.recorded_at < end,
        )
    )
    return rows_changed(result)
