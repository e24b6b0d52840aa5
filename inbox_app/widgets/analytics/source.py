"""Where the Analytics screen gets its numbers: one adapter, so the source can change alone.

Today: ``core.service.message_counts`` (exact counts from the messages table). When the
analytics service (``service.analytics.channel_stats``) is merged, wire it here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core.service.message_counts import ChannelCounts, count_messages


async def channel_counts(service: Any, days: int) -> list[ChannelCounts]:
    """Per-channel counts of the last ``days`` days."""
    until = service.ctx.now()
    return await count_messages(service.ctx, until - timedelta(days=days), until)


async def budget(service: Any) -> Any | None:
    """The month's budget status from the orchestrator, or None while it is not merged."""
    outbound = getattr(service, "outbound", None)
    if outbound is None:
        return None
    return await outbound.budget_status()
