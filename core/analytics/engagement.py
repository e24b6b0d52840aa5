"""How a prospect answers on each channel: response rate and median response time.

An outgoing message counts as answered when the prospect writes on the same channel before our
next outgoing message there, within ``REPLY_HORIZON``. The rate is smoothed with a Beta prior
(``PRIOR_ALPHA`` answers in ``PRIOR_ALPHA + PRIOR_BETA`` pseudo-messages), so that one message
does not decide: a prospect who answered their only SMS gets 0.6, not 1.0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.enums import Channel, Direction, MessageKind
from core.orchestrator.context import ChannelEngagement
from core.storage import tables as t

PRIOR_ALPHA = 2.0
PRIOR_BETA = 2.0
REPLY_HORIZON = timedelta(days=7)
HISTORY_LIMIT = 500


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One message of the history, as engagement needs it."""

    channel: Channel
    direction: Direction
    at: datetime


def engagement_from_history(
    items: Iterable[HistoryItem],
    *,
    alpha: float = PRIOR_ALPHA,
    beta: float = PRIOR_BETA,
    horizon: timedelta = REPLY_HORIZON,
) -> dict[Channel, ChannelEngagement]:
    """Per-channel engagement of one prospect from their messages (any order)."""
    by_channel: dict[Channel, list[HistoryItem]] = {}
    for item in items:
        by_channel.setdefault(Channel(item.channel), []).append(item)
    prior = alpha / (alpha + beta)
    result: dict[Channel, ChannelEngagement] = {}
    for channel, history in by_channel.items():
        sent, delays = _answers(sorted(history, key=lambda i: i.at), horizon)
        if not sent:
            continue
        replied = len(delays)
        result[channel] = ChannelEngagement(
            channel=channel,
            sent=sent,
            replied=replied,
            response_rate=(alpha + replied) / (alpha + beta + sent),
            prior_rate=prior,
            median_response_seconds=median(delays) if delays else None,
        )
    return result


def _answers(history: list[HistoryItem], horizon: timedelta) -> tuple[int, list[float]]:
    """How many outgoing messages, and the delay of each one answered."""
    sent = 0
    delays: list[float] = []
    waiting: datetime | None = None
    for item in history:
        if item.direction == Direction.OUTBOUND:
            sent += 1
            waiting = item.at
        elif waiting is not None:
            delay = item.at - waiting
            if delay <= horizon:
                delays.append(delay.total_seconds())
            waiting = None
    return sent, delays


async def load_engagement(
    session: AsyncSession, prospect_id: int, limit: int = HISTORY_LIMIT
) -> dict[Channel, ChannelEngagement]:
    """Engagement of a prospect from their latest ``limit`` messages (notes and events aside)."""
    m = t.MessageRow
    query = (
        select(m.channel_type, m.direction, m.created_at)
        .where(m.prospect_id == prospect_id, m.kind.in_([MessageKind.MESSAGE, MessageKind.CALL]))
        .order_by(m.id.desc())
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
    return engagement_from_history(HistoryItem(Channel(c), Direction(d), at) for c, d, at in rows)
