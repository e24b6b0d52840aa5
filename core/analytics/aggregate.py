"""One pass over a stretch of messages → additive counters per (UTC day, channel).

Definitions. They read the message's current status and the timestamps ``apply_status`` keeps,
so they agree with the timeline whatever order status events arrived in, and a duplicate event
changes nothing:

- sent: outbound messages (or calls) handed to the provider (``engagement.SENT``). Queued,
  held, cancelled or expired ones are not sent.
- delivered: status delivered or read. A failure reported after "delivered" outranks it in
  ``STATUS_RANK`` (the message counts as failed), a "read" outranks everything (delivered).
- opened: status read (an email open is recorded as READ by ingest).
- clicked: ``meta["clicked_at"]`` (set by ingest on a provider click event).
- failed: status failed or undelivered.
- received: inbound messages and calls.
- answered / first-response time: ``engagement.ReplyMatcher`` (the rule criterion 8 uses).
- delivery time: ``delivered_at`` − ``sent_at`` of delivered messages that have both (never
  negative: a provider's clocks may disagree).
- conversion: an appointment confirmed (``confirmed_at``, status confirmed or done) is credited
  to the last outbound message sent to the prospect before it was confirmed, if that message
  was created at most ``LOOKBACK`` earlier.
- message type: ``meta["message_type"]`` (the orchestrator's), else from the template name.

Everything is counted on the day the outbound message was created (inbound: received). A day's
counters therefore depend on the messages of that day and of the ``LOOKBACK`` after it, which
is what migration 0003's triggers mark stale.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Float, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.analytics.engagement import COUNTED_KINDS, SENT, ReplyMatcher
from core.domain.enums import AppointmentStatus, Direction, MessageStatus, MessageType
from core.storage import tables as t

#: How long after a message an answer or a confirmation is still credited to it; the stale-day
#: triggers of migration 0003 use the same seven days (a test keeps them equal).
LOOKBACK = timedelta(days=7)
CONVERSION_WINDOW = LOOKBACK
#: A day's rollup keeps its exact response times up to this many (else only the histogram).
EXACT_TIMES = 64
FAILED = frozenset({MessageStatus.FAILED, MessageStatus.UNDELIVERED})
DELIVERED = frozenset({MessageStatus.DELIVERED, MessageStatus.READ})
CONFIRMED = (AppointmentStatus.CONFIRMED, AppointmentStatus.DONE)
_TEMPLATE_TYPES = {
    "rdv_": MessageType.APPOINTMENT,
    "satisfaction": MessageType.SURVEY,
    "new_property": MessageType.MARKETING,
    "follow_up": MessageType.MARKETING,
    "welcome": MessageType.NOTIFICATION,
}
_MESSAGE_TYPES = frozenset(MessageType)
_COUNTERS = (
    "sent",
    "delivered",
    "opened",
    "clicked",
    "failed",
    "received",
    "answered",
    "response_seconds",
    "delivery_seconds",
    "delivery_count",
    "cost_micros",
    "conversions",
    "sms_segments",
    "unpriced",
    "unpriced_segments",
)


def histogram_bucket(seconds: float) -> int:
    """The log-scale bucket of a duration (eight per doubling, about ±4.5 %)."""
    return int(math.log2(1 + max(0.0, seconds)) * 8)


def bucket_value(bucket: int) -> float:
    """The duration a bucket stands for (its geometric middle)."""
    return 2 ** ((bucket + 0.5) / 8) - 1


@dataclass
class Counters:
    """Additive numbers of one channel over some days; ``response_times`` only when exact."""

    sent: int = 0
    delivered: int = 0
    opened: int = 0
    clicked: int = 0
    failed: int = 0
    received: int = 0
    answered: int = 0
    response_seconds: float = 0.0
    delivery_seconds: float = 0.0
    delivery_count: int = 0
    cost_micros: int = 0
    conversions: int = 0
    #: the segments these messages would have taken as SMS (GSM-7 estimate from their length)
    sms_segments: int = 0
    #: sent messages without a recorded cost, and their SMS segments
    unpriced: int = 0
    unpriced_segments: int = 0
    response_histogram: Counter[int] = field(default_factory=Counter)
    #: per message type: [sent, conversions]
    by_type: dict[str, list[int]] = field(default_factory=dict)
    response_times: list[float] | None = field(default_factory=list)
    #: the median response time, once computed (``stats``); any change forgets it
    median: float | None = field(default=None, compare=False, repr=False)

    def merge(self, other: Counters) -> None:
        """Add ``other`` in; exact response times survive only if both sides have them."""
        self.median = None
        for name in _COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.response_histogram.update(other.response_histogram)
        for kind, (sent, conversions) in other.by_type.items():
            mine = self.by_type.setdefault(kind, [0, 0])
            mine[0] += sent
            mine[1] += conversions
        if self.response_times is None or other.response_times is None:
            self.response_times = None
        else:
            self.response_times.extend(other.response_times)

    def add_response(self, seconds: float) -> None:
        """Count an answered message and how long the answer took."""
        self.median = None
        self.answered += 1
        self.response_seconds += seconds
        self.response_histogram[histogram_bucket(seconds)] += 1
        if self.response_times is not None:
            self.response_times.append(seconds)

    def to_json(self) -> dict[str, Any]:
        """What a daily rollup stores: exact response times only up to ``EXACT_TIMES``."""
        data: dict[str, Any] = {name: getattr(self, name) for name in _COUNTERS}
        data["histogram"] = {str(k): v for k, v in self.response_histogram.items()}
        data["by_type"] = self.by_type
        if self.response_times is not None and len(self.response_times) <= EXACT_TIMES:
            data["times"] = self.response_times
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Counters:
        """A stored rollup back (exact response times if it kept them)."""
        counters = cls(**{name: data.get(name, 0) for name in _COUNTERS})
        counters.response_histogram = Counter({int(k): v for k, v in data["histogram"].items()})
        counters.by_type = {k: list(v) for k, v in data.get("by_type", {}).items()}
        times = data.get("times")
        counters.response_times = [float(x) for x in times] if times is not None else None
        return counters


def sms_segments_for(length: int) -> int:
    """Segments a text of ``length`` characters takes as GSM-7 SMS (160, then 153 per part)."""
    return 1 if length <= 160 else math.ceil(length / 153)


def message_type(meta: dict[str, Any] | None) -> str:
    """The message type of an outbound message, from its metadata."""
    meta = meta or {}
    return _message_type(meta.get("message_type"), meta.get("template"))


@functools.lru_cache(maxsize=1024)
def _message_type(declared: Any, template: Any) -> str:
    if declared in _MESSAGE_TYPES:
        return str(declared)
    name = str(template or "")
    for prefix, kind in _TEMPLATE_TYPES.items():
        if name.startswith(prefix):
            return kind
    return MessageType.CONVERSATION


#: Seconds between the Julian day epoch and the Unix epoch (SQLite's julianday()).
_JULIAN_UNIX = 2440587.5


def epoch(dialect: str, column: Any) -> Any:
    """A timestamp column as Unix seconds (float), computed by the database."""
    if dialect == "sqlite":  # julianday() is a double: keep milliseconds, drop the noise
        return func.round((func.julianday(column) - _JULIAN_UNIX) * 86400.0, 3)
    return cast(func.extract("epoch", column), Float)


@functools.lru_cache(maxsize=4096)
def _day_of(day_number: int) -> date:
    return date(1970, 1, 1) + timedelta(days=day_number)


def _day(seconds: float) -> date:
    return _day_of(int(seconds // 86400))


@dataclass
class ProspectChannels:
    """Per prospect and channel: messages sent and answer times (for insights)."""

    sent: Counter[tuple[int, str]] = field(default_factory=Counter)
    response_times: dict[tuple[int, str], list[float]] = field(default_factory=dict)


@dataclass
class _Out:
    prospect_id: int
    day: date
    channel: str
    kind: str
    created: float
    counted: bool


Key = tuple[date, str]


async def aggregate(
    session: AsyncSession,
    tenant_id: int,
    start: datetime,
    end: datetime,
    prospects: ProspectChannels | None = None,
    among: Any | None = None,
) -> dict[Key, Counters]:
    """Counters per (UTC day, channel) for messages created in [start, end).

    Reads the messages up to ``LOOKBACK`` after ``end`` too, for the answers and confirmations
    of the last days. With ``prospects``, also fills in what each prospect was sent and how
    fast they answered. ``among`` (a query of prospect ids) keeps only those prospects.
    """
    result: dict[Key, Counters] = {}
    matcher = ReplyMatcher()
    by_prospect: dict[int, list[_Out]] = {}
    connection = await session.connection()
    dialect = session.get_bind().dialect.name
    for row in (await connection.execute(_in_range(dialect, tenant_id, start, end, among))).all():
        day = _day(row.created)
        thread = (row.prospect_id, row.channel_type)
        if row.direction == Direction.INBOUND:
            _counters(result, day, row.channel_type).received += 1
            answer = matcher.inbound(thread, row.created)
            if answer is not None:
                _credit_response(result, answer[0], answer[1], prospects)
            continue
        kind = _message_type(row.message_type, row.template)
        out = _Out(row.prospect_id, day, row.channel_type, kind, row.created, True)
        matcher.outbound(thread, out, row.sent if row.sent is not None else row.created)
        by_prospect.setdefault(row.prospect_id, []).append(out)
        _count_outbound(_counters(result, day, row.channel_type), row, kind)
        if prospects is not None:
            prospects.sent[thread] += 1
    # After ``end``, a thread's first message settles it: an answer to the period's message,
    # or a newer message that any later answer goes to. Only the first outbound message per
    # prospect matters for confirmations (the ones after it are credited to it or later).
    settled: set[tuple[int, str]] = set()
    followed: set[int] = set()
    after = _after(dialect, tenant_id, start, end, among)
    for prospect_id, direction, channel, created in (await connection.execute(after)).all():
        thread = (prospect_id, channel)
        if thread not in settled:
            settled.add(thread)
            if direction == Direction.INBOUND:
                answer = matcher.inbound(thread, created)
                if answer is not None:
                    _credit_response(result, answer[0], answer[1], prospects)
        if direction == Direction.OUTBOUND and prospect_id not in followed:
            followed.add(prospect_id)
            out = _Out(prospect_id, _day(created), channel, "", created, False)
            by_prospect.setdefault(prospect_id, []).append(out)
    await _conversions(session, tenant_id, start, end + LOOKBACK, by_prospect, result)
    return result


M = t.MessageRow


def _counted(tenant_id: int, start: datetime, end: datetime, among: Any | None = None) -> Any:
    """Inbound messages and the outbound ones sent, created in [start, end)."""
    condition = (
        (M.tenant_id == tenant_id)
        & (M.created_at >= start)
        & (M.created_at < end)
        & M.kind.in_(COUNTED_KINDS)
        & or_(M.direction == Direction.INBOUND, M.status.in_(SENT))
    )
    return condition if among is None else condition & M.prospect_id.in_(among)


def several_channels(tenant_id: int, start: datetime, end: datetime) -> Any:
    """A query of the prospects with messages on more than one channel in [start, end)."""
    return (
        select(M.prospect_id)
        .where(_counted(tenant_id, start, end))
        .group_by(M.prospect_id)
        .having(func.count(func.distinct(M.channel_type)) > 1)
    )


def _in_range(dialect: str, tenant_id: int, start: datetime, end: datetime, among: Any) -> Any:
    """Everything the counters of [start, end) read, in time order."""
    return (
        select(
            M.prospect_id,
            M.direction,
            M.channel_type,
            M.status,
            epoch(dialect, M.created_at).label("created"),
            epoch(dialect, M.sent_at).label("sent"),
            (epoch(dialect, M.delivered_at) - epoch(dialect, M.sent_at)).label("delivery"),
            M.cost_micros,
            M.meta["clicked_at"].as_string().label("clicked_at"),
            M.meta["message_type"].as_string().label("message_type"),
            M.meta["template"].as_string().label("template"),
            func.length(M.content).label("length"),
            M.segments,
        )
        .where(_counted(tenant_id, start, end, among))
        .order_by(M.created_at, M.id)
    )


def _after(dialect: str, tenant_id: int, start: datetime, end: datetime, among: Any) -> Any:
    """The ``LOOKBACK`` after ``end``: only what answers or follows the period's messages (the
    prospects written to in it), and only what the reply matching needs."""
    written_to = (
        select(M.prospect_id)
        .where(_counted(tenant_id, start, end, among), M.direction == Direction.OUTBOUND)
        .distinct()
    )
    return (
        select(
            M.prospect_id,
            M.direction,
            M.channel_type,
            epoch(dialect, M.created_at).label("created"),
        )
        .where(_counted(tenant_id, end, end + LOOKBACK), M.prospect_id.in_(written_to))
        .order_by(M.created_at, M.id)
    )


def _counters(result: dict[Key, Counters], day: date, channel: str) -> Counters:
    key = (day, channel)
    if key not in result:
        result[key] = Counters()
    return result[key]


def _count_outbound(counters: Counters, row: Any, kind: str) -> None:
    counters.sent += 1
    status = row.status
    delivered = status in DELIVERED
    counters.delivered += delivered
    counters.opened += status == MessageStatus.READ
    counters.clicked += bool(row.clicked_at)
    counters.failed += status in FAILED
    counters.cost_micros += row.cost_micros or 0
    segments = row.segments or sms_segments_for(row.length or 0)
    counters.sms_segments += segments
    if row.cost_micros is None:
        counters.unpriced += 1
        counters.unpriced_segments += segments
    if delivered and row.delivery is not None:
        counters.delivery_seconds += max(0.0, float(row.delivery))
        counters.delivery_count += 1
    counters.by_type.setdefault(kind, [0, 0])[0] += 1


def _credit_response(
    result: dict[Key, Counters],
    out: _Out,
    seconds: float,
    prospects: ProspectChannels | None,
) -> None:
    _counters(result, out.day, out.channel).add_response(seconds)
    if prospects is not None:
        key = (out.prospect_id, out.channel)
        prospects.response_times.setdefault(key, []).append(seconds)


async def _conversions(
    session: AsyncSession,
    tenant_id: int,
    start: datetime,
    end: datetime,
    by_prospect: dict[int, list[_Out]],
    result: dict[Key, Counters],
) -> None:
    """Credit each confirmation of [start, end) to the last message sent before it."""
    if not by_prospect:
        return
    A = t.AppointmentRow
    query = select(A.prospect_id, A.confirmed_at).where(
        A.tenant_id == tenant_id,
        A.status.in_(CONFIRMED),
        A.confirmed_at >= start,
        A.confirmed_at < end,
    )
    window = CONVERSION_WINDOW.total_seconds()
    for prospect_id, confirmed_at in (await session.execute(query)).all():
        sent = by_prospect.get(prospect_id)
        if not sent or confirmed_at is None:
            continue
        moment = confirmed_at.timestamp()
        index = bisect.bisect_right(sent, moment, key=lambda out: out.created) - 1
        if index < 0 or moment - sent[index].created > window or not sent[index].counted:
            continue
        out = sent[index]
        counters = _counters(result, out.day, out.channel)
        counters.conversions += 1
        counters.by_type.setdefault(out.kind, [0, 0])[1] += 1
