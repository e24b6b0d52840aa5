"""Channel analytics for the tenant: statistics, daily series, preferences, insights."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import SQLColumnExpression, func, literal_column, select, text

from core.analytics import rollups
from core.analytics.aggregate import ProspectChannels, aggregate, several_channels
from core.analytics.insights import (
    Insight,
    best_channel_per_type,
    cost_against_sms,
    faster_elsewhere,
    faster_elsewhere_insight,
)
from core.analytics.period import Period
from core.analytics.rollups import RollupCache
from core.analytics.stats import ChannelStats, channel_stats, channel_totals, daily_counters
from core.domain.enums import Channel
from core.domain.tenant_settings import TenantSettings
from core.storage import tables as t
from core.storage.service_context import ServiceContext

#: Insights about individual prospects read the messages themselves; they look this far back.
PROSPECT_INSIGHT_DAYS = 90
#: Periods longer than this count incoming messages by prospect rather than by time.
LONG_PERIOD = timedelta(days=45)
#: Up to this many prospects on several channels are read by id (beyond, by a subquery).
MAX_LISTED_PROSPECTS = 5_000


@dataclass(frozen=True)
class DailyPoint:
    """One day of one channel, for charts."""

    day: date
    channel: str
    sent: int
    delivered: int
    opened: int
    failed: int
    received: int
    answered: int
    conversions: int
    cost: Decimal


class Analytics:
    """What the analytics screen and the orchestrator read."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self._stored = RollupCache()

    def _period(self, period: Period | None) -> Period:
        return period or Period.last_days(30, self.ctx.now())

    async def channel_stats(self, period: Period | None = None) -> list[ChannelStats]:
        """Per channel over ``period`` (default: the last 30 days)."""
        return await channel_stats(
            self.ctx.db, self.ctx.tenant_id, self._period(period), self._stored
        )

    async def daily(self, period: Period | None = None) -> list[DailyPoint]:
        """Per day and channel, oldest first, for charts."""
        counters = await daily_counters(
            self.ctx.db, self.ctx.tenant_id, self._period(period), self._stored
        )
        return [
            DailyPoint(
                day=day,
                channel=channel,
                sent=c.sent,
                delivered=c.delivered,
                opened=c.opened,
                failed=c.failed,
                received=c.received,
                answered=c.answered,
                conversions=c.conversions,
                cost=Decimal(c.cost_micros) / Decimal(1_000_000),
            )
            for (day, channel), c in sorted(counters.items())
        ]

    async def preferred_channels(
        self, period: Period | None = None, prospect_ids: list[int] | None = None
    ) -> dict[int, Channel]:
        """Each prospect's observed preferred channel: the one they write on most
        (ties: the one they wrote on last)."""
        period = self._period(period)
        M = t.MessageRow
        count, last = func.count().label("n"), func.max(M.created_at).label("last")
        created: SQLColumnExpression[Any] = M.created_at
        if self.ctx.db.dialect == "sqlite" and period.end - period.start > LONG_PERIOD:
            # Over a long period, reading the tenant's incoming messages in the order of
            # their index (``+`` keeps SQLite off the time index) beats sorting them.
            created = literal_column("+messages.created_at", M.created_at.type)
        per_channel = (
            select(M.prospect_id, M.channel_type, count, last)
            .where(M.tenant_id == self.ctx.tenant_id, text(t.INBOUND_COUNTED))
            .where(created >= period.start, created < period.end)
            .group_by(M.prospect_id, M.channel_type)
        )
        if prospect_ids is not None:
            per_channel = per_channel.where(M.prospect_id.in_(prospect_ids))
        # The winner of each prospect is picked in the database: one row per prospect comes
        # back instead of one per channel with its count and (converted) time.
        ranked = per_channel.subquery()
        rank = func.row_number().over(
            partition_by=ranked.c.prospect_id,
            order_by=(ranked.c.n.desc(), ranked.c.last.desc(), ranked.c.channel_type.desc()),
        )
        numbered = select(ranked.c.prospect_id, ranked.c.channel_type, rank.label("rank"))
        winners = numbered.subquery()
        query = select(winners.c.prospect_id, winners.c.channel_type).where(winners.c.rank == 1)
        async with self.ctx.db.session() as session:
            rows = (await session.execute(query)).all()
        return {prospect_id: Channel(channel) for prospect_id, channel in rows}

    async def insights(self, period: Period | None = None) -> list[Insight]:
        """Plain-language findings for ``period``, in the active language."""
        period = self._period(period)
        totals = await channel_totals(self.ctx.db, self.ctx.tenant_id, period, self._stored)
        found = best_channel_per_type(totals)
        slower = await self._faster_elsewhere(period)
        if slower is not None:
            found.append(slower)
        settings = await self._settings()
        cost = cost_against_sms(totals, {str(k): v for k, v in settings.prices.items()})
        if cost is not None:
            found.append(cost)
        return found

    async def rebuild(self, period: Period) -> int:
        """Drop the stored daily rollups of ``period`` (recomputed on the next read)."""
        self._stored.clear()
        async with self.ctx.db.session() as session:
            return await rollups.drop(session, self.ctx.tenant_id, period.start, period.end)

    async def _faster_elsewhere(self, period: Period) -> Insight | None:
        start = max(period.start, period.end - timedelta(days=PROSPECT_INSIGHT_DAYS))
        prospects = ProspectChannels()
        async with self.ctx.db.session() as session:
            among: Any = several_channels(self.ctx.tenant_id, start, period.end)
            # Found once, then read by prospect (their index) rather than re-evaluated within
            # each pass over the period's messages; none means nothing to read at all.
            ids = list((await session.scalars(among)).all())
            if not ids:
                return None
            if len(ids) <= MAX_LISTED_PROSPECTS:
                among = ids
            await aggregate(session, self.ctx.tenant_id, start, period.end, prospects, among)
            found = faster_elsewhere(prospects)
            ids = [f.prospect_id for f in found]
            names: dict[int, str] = defaultdict(str)
            if ids:
                P = t.ProspectRow
                query = select(P.id, P.display_name).where(P.id.in_(ids))
                names.update({pid: name for pid, name in (await session.execute(query)).all()})
        return faster_elsewhere_insight(found, names)

    async def _settings(self) -> TenantSettings:
        async with self.ctx.db.session() as session:
            tenant = await session.get(t.TenantRow, self.ctx.tenant_id)
            return TenantSettings.model_validate((tenant.settings if tenant else None) or {})
