"""Per-channel message counts over a period, read straight from the messages table.

A small read for the Analytics screen until the analytics service (rates, response times,
conversions) is merged; it counts, it does not estimate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select

from core.domain.enums import Channel, Direction, MessageKind, MessageStatus
from core.storage import tables as t
from core.storage.convert import from_micros
from core.storage.service_context import ServiceContext

M = t.MessageRow
NOT_LEFT = {
    MessageStatus.SCHEDULED,
    MessageStatus.HELD,
    MessageStatus.QUEUED,
    MessageStatus.SENDING,
    MessageStatus.CANCELLED,
}
DELIVERED = {MessageStatus.DELIVERED, MessageStatus.READ}
FAILED = {MessageStatus.FAILED, MessageStatus.UNDELIVERED, MessageStatus.EXPIRED}


@dataclass
class ChannelCounts:
    """What happened on one channel: outbound that left, delivered, read, failed; inbound."""

    channel: Channel
    sent: int = 0
    delivered: int = 0
    read: int = 0
    failed: int = 0
    received: int = 0
    cost: Decimal = field(default_factory=lambda: Decimal("0"))


async def count_messages(
    ctx: ServiceContext, since: datetime, until: datetime
) -> list[ChannelCounts]:
    """Counts per channel of messages and calls created in [since, until); notes and internal
    events (never sent to anyone) excluded."""
    query = (
        select(M.channel_type, M.direction, M.status, func.count(), func.sum(M.cost_micros))
        .where(M.tenant_id == ctx.tenant_id, M.created_at >= since, M.created_at < until)
        .where(M.kind.in_([MessageKind.MESSAGE, MessageKind.CALL]))  # not notes nor events
        .group_by(M.channel_type, M.direction, M.status)
    )
    async with ctx.db.session() as session:
        rows = (await session.execute(query)).all()
    counts = {c: ChannelCounts(c) for c in Channel}
    for channel, direction, status, number, micros in rows:
        entry = counts[Channel(channel)]
        entry.cost += from_micros(micros) or Decimal("0")
        if direction == Direction.INBOUND:
            entry.received += number
            continue
        if status not in NOT_LEFT:
            entry.sent += number
        entry.delivered += number if status in DELIVERED else 0
        entry.read += number if status == MessageStatus.READ else 0
        entry.failed += number if status in FAILED else 0
    return list(counts.values())
