"""``decide`` as it was before the single-pass scoring (issue 17): the oracle that
``test_equivalence`` compares the fast ``core.orchestrator.decide`` with. Frozen: do not edit;
a deliberate change of decisions changes both, and this copy then goes."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TypeVar

from pydantic import BaseModel

from core.channels.segments import SegmentInfo, count_segments
from core.domain.decision import ChannelScore, Decision, Reason, ReplyDraft
from core.domain.enums import Channel, MessageType, Urgency
from core.orchestrator import channels as ch
from core.orchestrator.context import RoutingContext
from core.orchestrator.hours import (
    DailyWindow,
    commercial_allowed,
    in_window,
    next_commercial,
    next_in_allowed,
    zone,
)

#: The seed's weights (points a criterion can give at most); override with ``weights``.
DEFAULT_WEIGHTS: dict[str, float] = {
    "preference": 30.0,
    "urgency": 25.0,
    "content": 25.0,
    "length": 20.0,
    "cost": 20.0,
    "quiet_hours": 30.0,
    "message_type": 20.0,
    "engagement": 20.0,
}

_M = TypeVar("_M", bound=BaseModel)
MICROS = 1_000_000
#: The cost criterion's steps, in micro-euros.
_FREE_UP_TO, _CHEAP_UP_TO = 1_000, 20_000

WHATSAPP_WINDOW = timedelta(hours=24)
_WINDOW_CLOSING = timedelta(hours=2)

_URGENCY = {
    Urgency.URGENT: {
        Channel.SMS: 1.0,
        Channel.WHATSAPP: 0.6,
        Channel.TELEGRAM: 0.6,
        Channel.VOICE: 0.6,
        Channel.EMAIL: -0.4,
    },
    Urgency.NORMAL: {Channel.SMS: 0.4, Channel.EMAIL: 0.4},
    Urgency.LOW: {Channel.EMAIL: 1.0, Channel.TELEGRAM: 0.6, Channel.SMS: -0.4},
}
_RICH = {Channel.EMAIL: 1.0, Channel.WHATSAPP: 0.6, Channel.TELEGRAM: 0.4, Channel.SMS: -1.0}
_LOCATION = {Channel.WHATSAPP: 1.0, Channel.TELEGRAM: 1.0, Channel.SMS: -0.4}
_PLAIN = {Channel.SMS: 0.6, Channel.TELEGRAM: 0.6}
_TYPE = {
    MessageType.APPOINTMENT: {Channel.SMS: 0.75},
    MessageType.MARKETING: {Channel.EMAIL: 1.0, Channel.SMS: -0.75},
    MessageType.NOTIFICATION: {Channel.SMS: 0.75, Channel.WHATSAPP: 0.75},
    MessageType.SURVEY: {Channel.EMAIL: 0.75},
}


def weights_of(context: RoutingContext) -> dict[str, float]:
    """The criteria weights: the seed's, overridden by configuration."""
    overrides = context.settings.weights
    if not overrides:
        return DEFAULT_WEIGHTS
    return {**DEFAULT_WEIGHTS, **{k: float(v) for k, v in overrides.items()}}


def _reason(criterion: str, points: float, key: str, **params: object) -> Reason:
    # model_construct: these are built by us, valid by construction, and decide must be fast.
    return Reason.model_construct(
        criterion=criterion, points=round(points, 2), key=f"orchestrator.{key}", params=params
    )


#: A reason's parameters as (name, value) pairs: hashable, so built reasons are shared.
_Params = tuple[tuple[str, object], ...]
#: A reason not yet built: only the reported channels' reasons become ``Reason`` objects.
_Pending = tuple[str, float, str, _Params]


def _built(pending: list[_Pending]) -> tuple[Reason, ...]:
    built = []
    for criterion, points, key, params in pending:
        try:
            built.append(_shared_reason(criterion, points, key, params))
        except TypeError:  # an unhashable parameter: build this one afresh
            built.append(_reason(criterion, points, key, **dict(params)))
    return tuple(built)


def _construct(model: type[_M], values: dict[str, object]) -> _M:
    """``model.model_construct(**values)`` without its per-field loop: ``values`` holds every
    field, in order, valid by construction (decide builds three of these per decision)."""
    made = model.__new__(model)
    object.__setattr__(made, "__dict__", values)
    object.__setattr__(made, "__pydantic_fields_set__", set(values))
    object.__setattr__(made, "__pydantic_extra__", None)
    object.__setattr__(made, "__pydantic_private__", None)
    return made


@lru_cache(maxsize=8192)
def _shared_reason(
    criterion: str, points: float, key: str, params: tuple[tuple[str, object], ...]
) -> Reason:
    # Reasons are frozen and repeat across decisions (same criterion, points, channel): one
    # instance serves them all, which keeps explained decisions nearly as fast as bare scoring.
    return _reason(criterion, points, key, **dict(params))


class _Scored:
    """One channel's running score, reasons, blocks and hold."""

    __slots__ = ("blocked", "channel", "cost", "held_until", "points", "reasons", "warnings")

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.points: dict[str, float] = {}
        self.reasons: list[_Pending] = []
        self.warnings: list[_Pending] = []
        self.blocked: list[_Pending] = []
        self.held_until: datetime | None = None
        self.cost = Decimal("0")

    def add(self, criterion: str, points: float, key: str, params: _Params = ()) -> None:
        if points == 0:
            return
        self.points[criterion] = self.points.get(criterion, 0.0) + points
        self.reasons.append((criterion, points, key, params))

    def warn(self, criterion: str, key: str, params: _Params = ()) -> None:
        self.warnings.append((criterion, 0.0, key, params))

    def block(self, key: str, params: _Params) -> None:
        self.blocked.append(("availability", 0.0, key, params))

    def hold(self, until: datetime) -> None:
        if self.held_until is None or until > self.held_until:
            self.held_until = until

    @property
    def score(self) -> float:
        return sum(self.points.values())


@lru_cache(maxsize=1024)
def _segments(text: str) -> SegmentInfo:
    # A broadcast or a reminder run decides the same text for many prospects.
    return count_segments(text)


class _Facts:
    """What every channel's scoring shares, computed once per decision."""

    __slots__ = ("length", "local", "quiet", "quiet_end", "rich", "segments", "text", "tz")

    def __init__(self, context: RoutingContext, content: ReplyDraft) -> None:
        self.text = content.text or ""
        self.length = len(self.text)
        self.segments = _segments(self.text)
        self.rich = bool(content.attachments or content.html)
        self.tz = zone(context.timezone)
        self.local = context.now.astimezone(self.tz)
        q = context.quiet_hours
        window = _window(q.start, q.end)
        self.quiet = q.enabled and in_window(self.local, window)
        #: When the quiet window ends (held intrusive channels), once per decision.
        self.quiet_end = _window_end(self.local, window, context.timezone) if self.quiet else None


@lru_cache(maxsize=256)
def _window(start: time, end: time) -> DailyWindow:
    return DailyWindow(start, end)


def _window_end(local: datetime, window: DailyWindow, timezone: str) -> datetime:
    """``end_of_window`` with the window's end on each day computed once per zone and day."""
    end_today = _local_moment(local.date(), window.end, timezone)
    if end_today > local:
        return end_today
    return _local_moment(local.date() + timedelta(days=1), window.end, timezone)


@lru_cache(maxsize=4096)
def _local_moment(day: date, moment: time, timezone: str) -> datetime:
    # As ``hours.end_of_window`` computes it: through UTC and back, so that a wall-clock time
    # in a DST gap lands on a real instant.
    tz = zone(timezone)
    return datetime.combine(day, moment).replace(tzinfo=tz).astimezone(tz)


def decide(
    context: RoutingContext, content: ReplyDraft, channel: Channel | None = None
) -> Decision:
    """Choose the channel for ``content`` to the prospect of ``context``, and explain it.

    With ``channel`` given, the decision is about that channel (its reasons, cost, hold and
    warnings); the other eligible channels are its alternatives (the fallback chain). Never
    raises for an unreachable prospect: the decision then has no channel and says why.
    """
    weights = weights_of(context)
    facts = _Facts(context, content)
    candidates = ch.AUTO_CANDIDATES if channel is None else _with(ch.AUTO_CANDIDATES, channel)
    scored = [_score(c, context, content, facts, weights) for c in candidates]
    eligible = [s for s in scored if not s.blocked]
    eligible.sort(key=lambda s: (-s.score, ch.TIE_ORDER[s.channel]))
    best = _reachable(eligible)
    if channel is None:
        chosen = eligible[0] if eligible else None
    else:
        chosen = next((s for s in eligible if s.channel == channel), None)
    if chosen is None:
        return _no_channel(context, scored, channel)
    others = [s for s in eligible if s is not chosen][:2]
    # Built from values valid by construction: skip re-validation, decide must stay fast.
    return _construct(
        Decision,
        {
            "channel": chosen.channel,
            "confidence": _confidence(chosen, best),
            "reasons": _built(chosen.reasons),
            "alternatives": tuple(_channel_score(s, best, context) for s in others),
            "estimated_cost": chosen.cost,
            "estimated_delivery_seconds": _delivery(chosen, context),
            "held_until": chosen.held_until,
            "warnings": _built(chosen.warnings) + _budget_warning(context, chosen.cost),
            "blocked": (),
        },
    )


def _with(candidates: tuple[Channel, ...], channel: Channel) -> tuple[Channel, ...]:
    return candidates if channel in candidates else (*candidates, channel)


#: ``(("channel", value),)`` of every channel: the parameters most reasons carry.
_ON = {c: (("channel", str(c)),) for c in ch.NAMES}


def _score(
    channel: Channel,
    context: RoutingContext,
    content: ReplyDraft,
    facts: _Facts,
    weights: dict[str, float],
) -> _Scored:
    s = _Scored(channel)
    name = str(channel)  # Reason.text names it in the reader's language
    on = _ON[channel]
    _availability(s, context, content, facts, name)
    if s.blocked:  # only its blocks are ever shown: the cost may add one, nothing else does
        _cost(s, context, facts, weights["cost"], name)
        return s
    if context.preferred_channel == channel:
        s.add("preference", weights["preference"], "reason.preferred", on)
    _urgency(s, context, weights["urgency"], on)
    _content(s, content, facts, weights["content"], on)
    _length(s, facts, weights["length"], on)
    _cost(s, context, facts, weights["cost"], name)
    _quiet_hours(s, context, facts, weights["quiet_hours"], on)
    _message_type(s, context, weights["message_type"], on)
    _engagement(s, context, weights["engagement"], name)
    return s


def _availability(
    s: _Scored, context: RoutingContext, content: ReplyDraft, facts: _Facts, name: str
) -> None:
    channel = s.channel
    on = _ON[channel]
    if context.allowed is not None and channel not in context.allowed:
        s.block("blocked.not_allowed", on)
    if channel not in context.enabled:
        s.block("blocked.disabled", on)
    if channel in context.opted_out:
        s.block("blocked.opted_out", on)
    if not context.contacts.get(channel):
        s.block("blocked.no_contact", on)
    if channel in context.unreachable:
        s.block("blocked.unreachable", on)
    limit = ch.HARD_LIMITS.get(channel)
    if limit is not None and facts.length > limit:
        s.block("blocked.too_long", (("channel", name), ("length", facts.length), ("limit", limit)))
    if channel == Channel.WHATSAPP:
        _whatsapp_window(s, context, content)
    if channel == Channel.VOICE and (content.attachments or content.html):
        s.block("blocked.cannot_carry", on)
    daily = context.limits.get(channel)
    if (
        daily is not None
        and daily.daily_limit is not None
        and context.sent_today.get(channel, 0) >= daily.daily_limit
    ):
        s.block("blocked.daily_limit", (("channel", name), ("limit", daily.daily_limit)))


def _whatsapp_window(s: _Scored, context: RoutingContext, content: ReplyDraft) -> None:
    last = context.whatsapp_last_inbound_at
    if last is not None and context.now - last < WHATSAPP_WINDOW:
        left = last + WHATSAPP_WINDOW - context.now
        if left < _WINDOW_CLOSING:
            minutes = int(left.total_seconds() // 60)
            s.warn("availability", "warning.window_closing", (("minutes", minutes),))
        return
    if context.whatsapp_template_approved:
        s.warn("availability", "warning.template_outside_window")
        return
    s.block("blocked.whatsapp_window", ())


def _urgency(s: _Scored, context: RoutingContext, weight: float, on: _Params) -> None:
    share = _URGENCY[context.urgency].get(s.channel, 0.0)
    if share:
        key = _URGENCY_KEYS[context.urgency, share > 0]
        s.add("urgency", weight * share, key, on)


_URGENCY_KEYS = {
    (u, good): f"reason.urgency.{u.value}.{'good' if good else 'bad'}"
    for u in Urgency
    for good in (True, False)
}


def _content(s: _Scored, content: ReplyDraft, facts: _Facts, weight: float, on: _Params) -> None:
    if facts.rich:
        share = _RICH.get(s.channel, 0.0)
        key = "reason.content.rich_good" if share > 0 else "reason.content.rich_bad"
        s.add("content", weight * share, key, on)
    elif content.share_location:
        share = _LOCATION.get(s.channel, 0.0)
        key = "reason.content.location_good" if share > 0 else "reason.content.location_bad"
        s.add("content", weight * share, key, on)
    else:
        s.add("content", weight * _PLAIN.get(s.channel, 0.0), "reason.content.plain", on)


def _length(s: _Scored, facts: _Facts, weight: float, on: _Params) -> None:
    if s.channel == Channel.SMS:
        seg = facts.segments
        params = (("segments", seg.segments), ("encoding", seg.encoding), ("units", seg.units))
        if seg.segments <= 1:
            s.add(
                "length",
                weight,
                "reason.length.one_segment",
                (("capacity", seg.per_segment), *params),
            )
        elif seg.segments <= 3:
            s.add("length", -weight / 2, "reason.length.segments", params)
        else:
            s.add("length", -weight, "reason.length.segments", params)
    elif facts.length > 160:
        share = 1.0 if s.channel == Channel.EMAIL else 0.5
        if s.channel != Channel.VOICE:
            s.add("length", weight * share, "reason.length.long_ok", on)


@lru_cache(maxsize=1024)
def _price(price: Decimal, segments: int, cap: Decimal) -> tuple[Decimal, str, int, bool]:
    """A channel's cost for ``segments`` (1 but for SMS): as Decimal, as text, in micro-euros,
    and whether it is over ``cap``; the scoring then compares integers."""
    cost = price * segments if segments > 1 else price
    # Rounded up: a fraction of a micro-euro is not free.
    return cost, str(cost), math.ceil(cost * MICROS), cost > cap


def _cost(s: _Scored, context: RoutingContext, facts: _Facts, weight: float, name: str) -> None:
    price = context.prices.get(s.channel, _ZERO)
    segments = max(1, facts.segments.segments) if s.channel == Channel.SMS else 1
    cap = context.settings.max_cost_per_message
    s.cost, text, micros, over = _price(price, segments, cap)
    if over:
        s.block("blocked.too_expensive", (("channel", name), ("cost", text), ("cap", str(cap))))
        return
    if micros == 0:
        share = 1.0
    elif micros <= _FREE_UP_TO:
        share = 0.75
    elif micros <= _CHEAP_UP_TO:
        share = 0.5
    else:
        share = -0.5 if context.urgency == Urgency.LOW else 0.0
    key = "reason.cost.cheap" if share > 0 else "reason.cost.expensive"
    s.add("cost", weight * share, key, (("channel", name), ("cost", text)))


_ZERO = Decimal("0")


def _quiet_hours(
    s: _Scored, context: RoutingContext, facts: _Facts, weight: float, on: _Params
) -> None:
    q = context.quiet_hours
    if facts.quiet and s.channel in ch.INTRUSIVE:
        if context.urgency == Urgency.URGENT and q.urgent_may_pass:
            s.warn("quiet_hours", "warning.urgent_in_quiet_hours")
        else:
            s.add("quiet_hours", -weight, "reason.quiet.intrusive", on)
            assert facts.quiet_end is not None
            s.hold(facts.quiet_end)
    elif facts.quiet and s.channel == Channel.EMAIL:
        s.add("quiet_hours", weight / 3, "reason.quiet.email_respectful")
    if (
        q.french_commercial_preset
        and s.channel == Channel.SMS
        and context.message_type == MessageType.MARKETING
        and not commercial_allowed(facts.local)
    ):
        s.add("quiet_hours", -weight, "reason.quiet.commercial_sms")
        s.hold(next_commercial(facts.local))
    limits = context.limits.get(s.channel)
    if limits is not None and limits.allowed_start is not None and limits.allowed_end is not None:
        allowed = _window(limits.allowed_start, limits.allowed_end)
        if not in_window(facts.local, allowed):
            s.add("quiet_hours", -weight / 2, "reason.quiet.outside_allowed", on)
            s.hold(next_in_allowed(facts.local, allowed))
    if s.held_until is not None:
        s.warn("quiet_hours", "warning.held", (("until", s.held_until.isoformat()),))


def _message_type(s: _Scored, context: RoutingContext, weight: float, on: _Params) -> None:
    kind = context.message_type
    if kind == MessageType.CONVERSATION:
        if context.last_inbound_channel == s.channel:
            s.add("message_type", weight, "reason.type.conversation", on)
        return
    share = _TYPE.get(kind, {}).get(s.channel, 0.0)
    key = _TYPE_KEYS[kind, share > 0]
    s.add("message_type", weight * share, key, on)


_TYPE_KEYS = {
    (k, good): f"reason.type.{k.value}.{'good' if good else 'bad'}"
    for k in MessageType
    for good in (True, False)
}


def _engagement(s: _Scored, context: RoutingContext, weight: float, name: str) -> None:
    if not context.settings.enable_analytics:
        return
    if not context.settings.track_engagement:  # ORCHESTRATOR_TRACK_ENGAGEMENT=false
        s.reasons.append(("engagement", 0.0, "reason.engagement.not_tracked", (("channel", name),)))
        return
    stats = context.engagement.get(s.channel)
    if stats is None or stats.sent == 0:
        return
    prior = stats.prior_rate
    spread = max(prior, 1 - prior) or 1.0
    share = max(-1.0, min(1.0, (stats.response_rate - prior) / spread))
    if share == 0:
        return
    median = stats.median_response_seconds
    key = "reason.engagement.good" if share > 0 else "reason.engagement.poor"
    params = (
        ("channel", name),
        ("rate", round(stats.response_rate * 100)),
        ("replied", stats.replied),
        ("sent", stats.sent),
        ("count", stats.sent),  # the plural form follows the messages sent
        ("minutes", None if median is None else round(median / 60)),
    )
    s.add("engagement", weight * share, key, params)


def _reachable(eligible: list[_Scored]) -> float:
    best: dict[str, float] = {}
    for s in eligible:
        for criterion, points in s.points.items():
            if points > best.get(criterion, 0.0):
                best[criterion] = points
    return sum(best.values())


def _confidence(s: _Scored, best: float) -> float:
    if best <= 0:
        return 0.5 if s.score >= 0 else 0.0
    return round(max(0.0, min(1.0, s.score / best)), 3)


def _delivery(s: _Scored, context: RoutingContext) -> float:
    seconds = ch.DELIVERY_SECONDS[s.channel]
    if s.held_until is not None:
        seconds += max(0.0, (s.held_until - context.now).total_seconds())
    return seconds


def _channel_score(s: _Scored, best: float, context: RoutingContext) -> ChannelScore:
    return _construct(
        ChannelScore,
        {
            "channel": s.channel,
            "confidence": _confidence(s, best),
            "score": round(s.score, 2),
            "reasons": _built(s.reasons),
            "estimated_cost": s.cost,
            "estimated_delivery_seconds": _delivery(s, context),
            "eligible": True,
        },
    )


def _no_channel(
    context: RoutingContext, scored: list[_Scored], channel: Channel | None
) -> Decision:
    pool = [s for s in scored if channel is None or s.channel == channel]
    blocked = tuple(r for s in pool for r in _built(s.blocked))
    summary = _reason("availability", 0, "blocked.no_channel")
    return Decision(channel=None, confidence=0.0, reasons=(summary,), blocked=blocked)


def _budget_warning(context: RoutingContext, cost: Decimal) -> tuple[Reason, ...]:
    budget = context.monthly_budget
    if not budget:
        return ()
    ratio = float((context.spent_this_month + cost) / budget)
    if ratio >= context.settings.budget_alert_threshold:
        return (_reason("cost", 0, "warning.budget", percent=round(ratio * 100)),)
    return ()
