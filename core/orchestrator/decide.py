"""``decide``: score every channel with the seed's nine criteria and explain the choice.

Each criterion gives a channel points (a share of the criterion's weight, the weights being
configurable) and a reason; a channel the prospect cannot be reached on, has opted out of, the
tenant has switched off, or that would cost too much, is not eligible whatever its score
(criterion 9, and the rules the seed left implicit). Pure: no I/O, no clock but ``context.now``.

Confidence is a channel's score over the best score reachable in this decision (the sum, over the
criteria that gave anyone points, of the most any channel got), clipped to [0, 1].
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache

from core.channels.segments import SegmentInfo, count_segments
from core.domain.decision import ChannelScore, Decision, Reason, ReplyDraft
from core.domain.enums import Channel, MessageType, Urgency
from core.orchestrator import channels as ch
from core.orchestrator.context import RoutingContext
from core.orchestrator.hours import (
    DailyWindow,
    commercial_allowed,
    end_of_window,
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


#: A reason not yet built: only the reported channels' reasons become ``Reason`` objects.
_Pending = tuple[str, float, str, dict[str, object]]


def _built(pending: list[_Pending]) -> tuple[Reason, ...]:
    built = []
    for criterion, points, key, params in pending:
        try:
            built.append(_shared_reason(criterion, points, key, tuple(params.items())))
        except TypeError:  # an unhashable parameter: build this one afresh
            built.append(_reason(criterion, points, key, **params))
    return tuple(built)


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

    def add(self, criterion: str, points: float, key: str, **params: object) -> None:
        if points == 0:
            return
        self.points[criterion] = self.points.get(criterion, 0.0) + points
        self.reasons.append((criterion, points, key, params))

    def warn(self, criterion: str, key: str, **params: object) -> None:
        self.warnings.append((criterion, 0.0, key, params))

    def block(self, key: str, **params: object) -> None:
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

    __slots__ = ("length", "local", "quiet", "rich", "segments", "text")

    def __init__(self, context: RoutingContext, content: ReplyDraft) -> None:
        self.text = content.text or ""
        self.length = len(self.text)
        self.segments = _segments(self.text)
        self.rich = bool(content.attachments or content.html)
        self.local = context.now.astimezone(zone(context.timezone))
        q = context.quiet_hours
        self.quiet = q.enabled and in_window(self.local, DailyWindow(q.start, q.end))


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
    return Decision.model_construct(
        channel=chosen.channel,
        confidence=_confidence(chosen, best),
        reasons=_built(chosen.reasons),
        alternatives=tuple(_channel_score(s, best, context) for s in others),
        estimated_cost=chosen.cost,
        estimated_delivery_seconds=_delivery(chosen, context),
        held_until=chosen.held_until,
        warnings=_built(chosen.warnings) + _budget_warning(context, chosen.cost),
    )


def _with(candidates: tuple[Channel, ...], channel: Channel) -> tuple[Channel, ...]:
    return candidates if channel in candidates else (*candidates, channel)


def _score(
    channel: Channel,
    context: RoutingContext,
    content: ReplyDraft,
    facts: _Facts,
    weights: dict[str, float],
) -> _Scored:
    s = _Scored(channel)
    name = ch.NAMES[channel]
    _availability(s, context, content, facts, name)
    if context.preferred_channel == channel:
        s.add("preference", weights["preference"], "reason.preferred", channel=name)
    _urgency(s, context, weights["urgency"], name)
    _content(s, content, facts, weights["content"], name)
    _length(s, facts, weights["length"], name)
    _cost(s, context, facts, weights["cost"], name)
    _quiet_hours(s, context, facts, weights["quiet_hours"], name)
    _message_type(s, context, weights["message_type"], name)
    _engagement(s, context, weights["engagement"], name)
    return s


def _availability(
    s: _Scored, context: RoutingContext, content: ReplyDraft, facts: _Facts, name: str
) -> None:
    channel = s.channel
    if context.allowed is not None and channel not in context.allowed:
        s.block("blocked.not_allowed", channel=name)
    if channel not in context.enabled:
        s.block("blocked.disabled", channel=name)
    if channel in context.opted_out:
        s.block("blocked.opted_out", channel=name)
    if not context.contacts.get(channel):
        s.block("blocked.no_contact", channel=name)
    if channel in context.unreachable:
        s.block("blocked.unreachable", channel=name)
    limit = ch.HARD_LIMITS.get(channel)
    if limit is not None and facts.length > limit:
        s.block("blocked.too_long", channel=name, length=facts.length, limit=limit)
    if channel == Channel.WHATSAPP:
        _whatsapp_window(s, context, content)
    if channel == Channel.VOICE and (content.attachments or content.html):
        s.block("blocked.cannot_carry", channel=name)
    daily = context.limits.get(channel)
    if (
        daily is not None
        and daily.daily_limit is not None
        and context.sent_today.get(channel, 0) >= daily.daily_limit
    ):
        s.block("blocked.daily_limit", channel=name, limit=daily.daily_limit)


def _whatsapp_window(s: _Scored, context: RoutingContext, content: ReplyDraft) -> None:
    last = context.whatsapp_last_inbound_at
    if last is not None and context.now - last < WHATSAPP_WINDOW:
        left = last + WHATSAPP_WINDOW - context.now
        if left < _WINDOW_CLOSING:
            minutes = int(left.total_seconds() // 60)
            s.warn("availability", "warning.window_closing", minutes=minutes)
        return
    if context.whatsapp_template_approved:
        s.warn("availability", "warning.template_outside_window")
        return
    s.block("blocked.whatsapp_window")


def _urgency(s: _Scored, context: RoutingContext, weight: float, name: str) -> None:
    share = _URGENCY[context.urgency].get(s.channel, 0.0)
    if share:
        key = f"reason.urgency.{context.urgency.value}.{'good' if share > 0 else 'bad'}"
        s.add("urgency", weight * share, key, channel=name)


def _content(s: _Scored, content: ReplyDraft, facts: _Facts, weight: float, name: str) -> None:
    if facts.rich:
        share = _RICH.get(s.channel, 0.0)
        key = "reason.content.rich_good" if share > 0 else "reason.content.rich_bad"
        s.add("content", weight * share, key, channel=name)
    elif content.share_location:
        share = _LOCATION.get(s.channel, 0.0)
        key = "reason.content.location_good" if share > 0 else "reason.content.location_bad"
        s.add("content", weight * share, key, channel=name)
    else:
        s.add("content", weight * _PLAIN.get(s.channel, 0.0), "reason.content.plain", channel=name)


def _length(s: _Scored, facts: _Facts, weight: float, name: str) -> None:
    if s.channel == Channel.SMS:
        seg = facts.segments
        params = {"segments": seg.segments, "encoding": seg.encoding, "units": seg.units}
        if seg.segments <= 1:
            s.add("length", weight, "reason.length.one_segment", capacity=seg.per_segment, **params)
        elif seg.segments <= 3:
            s.add("length", -weight / 2, "reason.length.segments", **params)
        else:
            s.add("length", -weight, "reason.length.segments", **params)
    elif facts.length > 160:
        share = 1.0 if s.channel == Channel.EMAIL else 0.5
        if s.channel != Channel.VOICE:
            s.add("length", weight * share, "reason.length.long_ok", channel=name)


def _cost(s: _Scored, context: RoutingContext, facts: _Facts, weight: float, name: str) -> None:
    price = context.prices.get(s.channel, Decimal("0"))
    s.cost = price * max(1, facts.segments.segments) if s.channel == Channel.SMS else price
    cap = context.settings.max_cost_per_message
    if s.cost > cap:
        s.block("blocked.too_expensive", channel=name, cost=str(s.cost), cap=str(cap))
        return
    if s.cost == 0:
        share = 1.0
    elif s.cost <= Decimal("0.001"):
        share = 0.75
    elif s.cost <= Decimal("0.02"):
        share = 0.5
    else:
        share = -0.5 if context.urgency == Urgency.LOW else 0.0
    key = "reason.cost.cheap" if share > 0 else "reason.cost.expensive"
    s.add("cost", weight * share, key, channel=name, cost=str(s.cost))


def _quiet_hours(
    s: _Scored, context: RoutingContext, facts: _Facts, weight: float, name: str
) -> None:
    q = context.quiet_hours
    urgent_passes = context.urgency == Urgency.URGENT and q.urgent_may_pass
    tz = zone(context.timezone)
    if facts.quiet and s.channel in ch.INTRUSIVE:
        if urgent_passes:
            s.warn("quiet_hours", "warning.urgent_in_quiet_hours")
        else:
            s.add("quiet_hours", -weight, "reason.quiet.intrusive", channel=name)
            s.hold(end_of_window(facts.local, DailyWindow(q.start, q.end)).astimezone(tz))
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
        allowed = DailyWindow(limits.allowed_start, limits.allowed_end)
        if not in_window(facts.local, allowed):
            s.add("quiet_hours", -weight / 2, "reason.quiet.outside_allowed", channel=name)
            s.hold(next_in_allowed(facts.local, allowed))
    if s.held_until is not None:
        s.warn("quiet_hours", "warning.held", until=s.held_until.isoformat())


def _message_type(s: _Scored, context: RoutingContext, weight: float, name: str) -> None:
    kind = context.message_type
    if kind == MessageType.CONVERSATION:
        if context.last_inbound_channel == s.channel:
            s.add("message_type", weight, "reason.type.conversation", channel=name)
        return
    share = _TYPE.get(kind, {}).get(s.channel, 0.0)
    key = f"reason.type.{kind.value}.{'good' if share > 0 else 'bad'}"
    s.add("message_type", weight * share, key, channel=name)


def _engagement(s: _Scored, context: RoutingContext, weight: float, name: str) -> None:
    if not context.settings.enable_analytics:
        return
    if not context.settings.track_engagement:  # ORCHESTRATOR_TRACK_ENGAGEMENT=false
        s.reasons.append(("engagement", 0.0, "reason.engagement.not_tracked", {"channel": name}))
        return
    stats = context.engagement.get(s.channel)
    if stats is None or stats.sent == 0:
        return
    prior = stats.prior_rate
    spread = max(prior, 1 - prior) or 1.0
    share = max(-1.0, min(1.0, (stats.response_rate - prior) / spread))
    median = stats.median_response_seconds
    key = "reason.engagement.good" if share > 0 else "reason.engagement.poor"
    s.add(
        "engagement",
        weight * share,
        key,
        channel=name,
        rate=round(stats.response_rate * 100),
        replied=stats.replied,
        sent=stats.sent,
        minutes=None if median is None else round(median / 60),
    )


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
    return ChannelScore.model_construct(
        channel=s.channel,
        confidence=_confidence(s, best),
        score=round(s.score, 2),
        reasons=_built(s.reasons),
        estimated_cost=s.cost,
        estimated_delivery_seconds=_delivery(s, context),
        eligible=True,
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
