"""How a prospect answers on each channel: the one definition of "answered" in the analytics.

A thread is a prospect on one channel. An outgoing message counts once it was handed to the
provider (``SENT``: queued, held or cancelled ones do not). It is answered by the first incoming
message of its thread after it and before the next outgoing one, within ``REPLY_HORIZON``; the
delay runs from when it was sent. ``ReplyMatcher`` applies that rule to messages fed in time
order: the orchestrator's criterion 8 (``engagement_from_history``, per prospect) and the
channel statistics (``aggregate``, per day and channel) both go through it.

For criterion 8 the rate is smoothed with a Beta prior (``PRIOR_ALPHA`` answers in
``PRIOR_ALPHA + PRIOR_BETA`` pseudo-messages), so that one message does not decide: a prospect
who answered their only SMS gets 0.6, not 1.0.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.enums import Channel, Direction, MessageKind, MessageStatus
from core.storage import tables as t

PRIOR_ALPHA = 2.0
PRIOR_BETA = 2.0
REPLY_HORIZON = timedelta(days=7)
HISTORY_LIMIT = 500
#: Outgoing messages handed to the provider, whatever happened to them afterwards.
SENT = frozenset(
    {
        MessageStatus.SENT,
        MessageStatus.DELIVERED,
        MessageStatus.READ,
        MessageStatus.FAILED,
        MessageStatus.UNDELIVERED,
        MessageStatus.UNKNOWN,
    }
)
COUNTED_KINDS = (MessageKind.MESSAGE, MessageKind.CALL)


@dataclass(frozen=True, slots=True)
class ChannelEngagement:
    """How a prospect answers on one channel (criterion 8), from the message history.

    ``response_rate`` is the posterior mean under a Beta prior, so one message never decides;
    ``evidence`` is how many of our messages it is based on (0: no history, no points).
    """

    channel: Channel
    sent: int = 0
    replied: int = 0
    response_rate: float = 0.0
    prior_rate: float = 0.0
    median_response_seconds: float | None = None

    @property
    def evidence(self) -> int:
        """Number of outgoing messages the rate is based on."""
        return self.sent


class ReplyMatcher:
    """Pairs outgoing messages with their answer; feed each thread's messages in time order."""

    def __init__(self, horizon: timedelta = REPLY_HORIZON) -> None:
        self.horizon = horizon.total_seconds()
        self._waiting: dict[Hashable, tuple[Any, float]] = {}

    def outbound(self, thread: Hashable, item: Any, sent_at: float) -> None:
        """An outgoing message (``item``), sent at ``sent_at`` (Unix seconds)."""
        self._waiting[thread] = (item, sent_at)

    def inbound(self, thread: Hashable, at: float) -> tuple[Any, float] | None:
        """An incoming message: the outgoing one it answers and the delay, if it answers one."""
        waiting = self._waiting.pop(thread, None)
        if waiting is None:
            return None
        item, sent_at = waiting
        delay = at - sent_at
        return (item, delay) if 0 <= delay <= self.horizon else None


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One message of the history, as engagement needs it (outgoing ones already sent)."""

    channel: Channel
    direction: Direction
    at: datetime
    #: When an outgoing message was sent, if it differs from ``at`` (its creation).
    sent_at: datetime | None = None


#: Members by value: a dict lookup, several times cheaper than ``Channel(value)``, which matters
#: when a batch's whole history is read (a StrEnum member hashes and compares as its value).
_CHANNELS: dict[str, Channel] = {c.value: c for c in Channel}
_DIRECTIONS: dict[str, Direction] = {d.value: d for d in Direction}


def channel_of(value: str) -> Channel:
    """``Channel(value)``, fast (a stored value, or a member)."""
    return _CHANNELS.get(value) or Channel(value)


def direction_of(value: str) -> Direction:
    """``Direction(value)``, fast."""
    return _DIRECTIONS.get(value) or Direction(value)


def engagement_from_history(
    items: Iterable[HistoryItem],
    *,
    alpha: float = PRIOR_ALPHA,
    beta: float = PRIOR_BETA,
    horizon: timedelta = REPLY_HORIZON,
) -> dict[Channel, ChannelEngagement]:
    """Per-channel engagement of one prospect from their messages (any order)."""
    matcher = ReplyMatcher(horizon)
    sent: dict[Channel, int] = {}
    delays: dict[Channel, list[float]] = {}
    for item in sorted(items, key=lambda i: i.at):
        channel = _CHANNELS.get(item.channel) or Channel(item.channel)
        if item.direction == Direction.OUTBOUND:
            sent[channel] = sent.get(channel, 0) + 1
            matcher.outbound(channel, channel, (item.sent_at or item.at).timestamp())
        elif (answer := matcher.inbound(channel, item.at.timestamp())) is not None:
            delays.setdefault(channel, []).append(answer[1])
    return _summarised(sent, delays, alpha, beta)


def engagement_from_counts(
    sent: dict[Channel, int],
    answers: dict[Channel, list[tuple[datetime, datetime]]],
    *,
    alpha: float = PRIOR_ALPHA,
    beta: float = PRIOR_BETA,
    horizon: timedelta = REPLY_HORIZON,
) -> dict[Channel, ChannelEngagement]:
    """``engagement_from_history`` from what the database worked out of the history: messages
    sent per channel, and each candidate answer (an incoming message whose thread's previous
    message is outgoing) with when that outgoing message was sent. The delays are taken and
    checked against ``horizon`` as ``ReplyMatcher`` does, so that the two agree to the bit."""
    spans = {c: [at.timestamp() - since.timestamp() for at, since in p] for c, p in answers.items()}
    return engagement_from_spans(sent, spans, alpha=alpha, beta=beta, horizon=horizon)


def engagement_from_spans(
    sent: dict[Channel, int],
    spans: dict[Channel, list[float]],
    *,
    alpha: float = PRIOR_ALPHA,
    beta: float = PRIOR_BETA,
    horizon: timedelta = REPLY_HORIZON,
) -> dict[Channel, ChannelEngagement]:
    """``engagement_from_counts`` with each candidate answer given as the seconds between the
    outgoing message's ``timestamp()`` and the answer's (no datetime per answer)."""
    limit = horizon.total_seconds()
    delays: dict[Channel, list[float]] = {}
    for channel, found in spans.items():
        kept = [d for d in found if 0 <= d <= limit]
        if kept:
            delays[channel] = kept
    return _summarised(sent, delays, alpha, beta)


def _summarised(
    sent: dict[Channel, int], delays: dict[Channel, list[float]], alpha: float, beta: float
) -> dict[Channel, ChannelEngagement]:
    prior = alpha / (alpha + beta)
    result: dict[Channel, ChannelEngagement] = {}
    for channel, count in sent.items():
        answered = delays.get(channel, [])
        result[channel] = ChannelEngagement(
            channel=channel,
            sent=count,
            replied=len(answered),
            response_rate=(alpha + len(answered)) / (alpha + beta + count),
            prior_rate=prior,
            median_response_seconds=median(answered) if answered else None,
        )
    return result


async def load_engagement(
    session: AsyncSession, prospect_id: int, limit: int = HISTORY_LIMIT
) -> dict[Channel, ChannelEngagement]:
    """Engagement of a prospect from their latest ``limit`` messages (notes and events aside)."""
    m = t.MessageRow
    query = (
        select(m.channel_type, m.direction, m.created_at, m.sent_at)
        .where(m.prospect_id == prospect_id, m.kind.in_(COUNTED_KINDS))
        .where(or_(m.direction == Direction.INBOUND, m.status.in_(SENT)))
        .order_by(m.id.desc())
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
    return engagement_from_history(
        HistoryItem(channel_of(c), direction_of(d), at, sent) for c, d, at, sent in rows
    )
