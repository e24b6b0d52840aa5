"""Where the Analytics screen gets its numbers: ``service.analytics`` and ``service.outbound``.

One function gathers everything the screen shows for a period, so the screen stays a view.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from core.analytics.period import Period
from core.analytics.stats import RECEIPT_COUNTS, ChannelStats
from core.service.analytics import DailyPoint


@dataclass(frozen=True)
class Report:
    """What the Analytics screen shows for one period."""

    period: Period
    stats: list[ChannelStats]
    days: list[date]
    daily: list[DailyPoint]
    preferred: Counter[str] = field(default_factory=Counter)
    insights: list[str] = field(default_factory=list)
    budget: Any | None = None

    def volume(self, channel: str) -> list[int]:
        """Messages sent and received on ``channel``, one number per day of the period."""
        per_day = {p.day: p.sent + p.received for p in self.daily if p.channel == channel}
        return [per_day.get(day, 0) for day in self.days]


async def report(service: Any, days: int) -> Report:
    """Statistics, daily series, observed preferences, insights and budget of the last ``days``."""
    period = Period.last_days(days, service.ctx.now())
    analytics = service.analytics
    preferred = await analytics.preferred_channels(period)
    return Report(
        period=period,
        stats=await analytics.channel_stats(period),
        days=list(period.days()),
        daily=await analytics.daily(period),
        preferred=Counter(str(channel) for channel in preferred.values()),
        insights=[insight.text for insight in await analytics.insights(period)],
        budget=await budget(service),
    )


async def budget(service: Any) -> Any | None:
    """The month's budget status from the orchestrator (None without one)."""
    outbound = getattr(service, "outbound", None)
    if outbound is None:
        return None
    return await outbound.budget_status()


def total(stats: list[ChannelStats]) -> dict[str, Any]:
    """The channels summed: counts added, rates and averages recomputed from the sums.

    Delivery, open and click rates count only the channels that report them.
    """
    sums = {
        name: sum(getattr(s, name) for s in stats)
        for name in ("sent", "failed", "received", "answered", "conversions")
    }
    tracked = [s for s in stats if s.receipts]
    sums |= {name: sum(getattr(s, name) for s in tracked) for name in RECEIPT_COUNTS}
    tracked_sent = sum(s.sent for s in tracked)
    cost = sum((s.total_cost for s in stats), Decimal(0))
    waited = sum((s.avg_first_response or 0) * s.answered for s in stats)
    return {
        **sums,
        "delivery_rate": _ratio(sums["delivered"], tracked_sent),
        "open_rate": _ratio(sums["opened"], sums["delivered"]),
        "click_rate": _ratio(sums["clicked"], sums["delivered"]),
        "response_rate": _ratio(sums["answered"], sums["sent"]),
        "conversion_rate": _ratio(sums["conversions"], sums["sent"]),
        "avg_first_response": waited / sums["answered"] if sums["answered"] else None,
        "median_first_response": None,
        "total_cost": cost,
        "avg_cost": None,  # the stats do not say how many messages were priced
    }


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None
