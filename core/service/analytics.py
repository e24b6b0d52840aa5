"""Channel analytics for the tenant: statistics, daily series, preferences, insights."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

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
from core.domain.enums import Channel, Direction, MessageKind
from core.domain.settings import TenantSettings
from core.service.context import ServiceContext
from core.storage import tables as t

#: Insights about individual prospects read the messages themselves; they look this far back.
PROSPECT_INSIGHT_DAYS = 90


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
        query = (
            select(M.prospect_id, M.channel_type, func.count(), func.max(M.created_at))
            .where(M.tenant_id == self.ctx.tenant_id, M.direction == Direction.INBOUND)
            .where(M.kind.in_([MessageKind.MESSAGE, MessageKind.CALL]))
            .where(M.created_at >= period.start, M.created_at < period.end)
            .group_by(M.prospect_id, M.channel_type)
        )
        if prospect_ids is not None:
            query = query.where(M.prospect_id.in_(prospect_ids))
        best: dict[int, tuple[int, object, str]] = {}
        async with self.ctx.db.session() as session:
            for prospect_id, channel, count, last in (await session.execute(query)).all():
                candidate = (count, last, channel)
                if prospect_id not in best or candidate > best[prospect_id]:
                    best[prospect_id] = candidate
        return {pid: Channel(channel) for pid, (_, _, channel) in best.items()}

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
            among = several_channels(self.ctx.tenant_id, start, period.end)
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
