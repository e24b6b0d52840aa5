"""``decide``: score every channel with the seed's nine criteria and explain the choice.

Each criterion gives a channel points (a share of the criterion's weight, the weights being
configurable) and a reason; a channel the prospect cannot be reached on, has opted out of, the
tenant has switched off, or that would cost too much, is not eligible whatever its score
(criterion 9, and the rules the seed left implicit). Pure: no I/O, no clock but ``context.now``.

Confidence is a channel's score over the best score reachable in this decision (the sum, over the
criteria that gave anyone points, of the most any channel got), clipped to [0, 1].
"""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from operator import attrgetter
from typing import TypeVar
from zoneinfo import ZoneInfo

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


# Enum members and tables as module names: ``Channel.SMS`` is a look-up through the enum's
# metaclass, several times slower than a global, and decide compares channels in its hot loop.
_SMS, _EMAIL, _WHATSAPP, _VOICE = Channel.SMS, Channel.EMAIL, Channel.WHATSAPP, Channel.VOICE
_URGENT, _LOW = Urgency.URGENT, Urgency.LOW
_CONVERSATION, _MARKETING = MessageType.CONVERSATION, MessageType.MARKETING
_INTRUSIVE = ch.INTRUSIVE
_DELIVERY_SECONDS = ch.DELIVERY_SECONDS


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


def _shared(criterion: str, points: float, key: str, params: _Params = ()) -> Reason:
    """The ``Reason`` for these values, shared across decisions (built once while cached)."""
    try:
        return _shared_reason(criterion, points, key, params)
    except TypeError:  # an unhashable parameter: build this one afresh
        return _reason(criterion, points, key, **dict(params))


#: ``BaseModel``'s slots, set through their descriptors (no attribute look-up by name).
_SET_DICT = BaseModel.__dict__["__dict__"].__set__
_SET_FIELDS = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_SET_EXTRA = BaseModel.__dict__["__pydantic_extra__"].__set__
_SET_PRIVATE = BaseModel.__dict__["__pydantic_private__"].__set__
_new = object.__new__
#: Every field of the models decide builds: all are set (``model_fields_set``).
_FIELDS: dict[type[BaseModel], set[str]] = {
    model: set(model.model_fields) for model in (Decision, ChannelScore)
}


def _construct(model: type[_M], values: dict[str, object]) -> _M:
    """``model.model_construct(**values)`` without its per-field loop: ``values`` holds every
    field, in order, valid by construction (decide builds three of these per decision)."""
    made = _new(model)
    _SET_DICT(made, values)
    _SET_FIELDS(made, _FIELDS[model].copy())
    _SET_EXTRA(made, None)
    _SET_PRIVATE(made, None)
    return made


@lru_cache(maxsize=16384)
def _shared_reason(
    criterion: str, points: float, key: str, params: tuple[tuple[str, object], ...]
) -> Reason:
    # Reasons are frozen and repeat across decisions (same criterion, points, channel): one
    # instance serves them all, which keeps explained decisions nearly as fast as bare scoring.
    return _reason(criterion, points, key, **dict(params))


class _Scored:
    """An eligible channel's score, reasons, warnings and hold."""

    __slots__ = (
        "channel",
        "cost",
        "held_until",
        "points",
        "rank",
        "reasons",
        "score",
        "warnings",
    )

    def __init__(
        self,
        channel: Channel,
        warnings: list[Reason],
        cost: Decimal,
        points: dict[str, float],
        reasons: list[Reason],
        held_until: datetime | None,
        tie: int,
    ) -> None:
        self.channel = channel
        self.warnings = warnings
        self.cost = cost
        #: Points by criterion, in the criteria's order (the order they are summed in).
        self.points = points
        self.reasons = reasons
        self.held_until = held_until
        self.score = score = sum(points.values())
        #: Best first, then the seed's order among equals (``tie``).
        self.rank = (-score, tie)


_ZERO = Decimal("0")


class _Facts:
    """What every channel's scoring shares, computed once per decision."""

    __slots__ = (
        "commercial_until",
        "fixed",
        "length",
        "local",
        "quiet",
        "quiet_end",
        "sms_segments",
        "urgent_passes",
    )

    def __init__(
        self, context: RoutingContext, content: ReplyDraft, weights: dict[str, float]
    ) -> None:
        text = content.text or ""
        rich = bool(content.attachments or content.html)
        if weights is DEFAULT_WEIGHTS:
            self.length, self.sms_segments, self.fixed = _default_message_facts(
                text, rich, content.share_location, context.urgency, context.message_type
            )
        else:
            self.length, self.sms_segments, self.fixed = _message_facts(
                text,
                rich,
                content.share_location,
                context.urgency,
                context.message_type,
                weights["urgency"],
                weights["content"],
                weights["length"],
                weights["message_type"],
            )
        q = context.quiet_hours
        timezone = context.timezone
        tz = _ZONES.get(timezone)
        if tz is None:
            tz = _ZONES[timezone] = zone(timezone)
        self.local = local = context.now.astimezone(tz)
        start, end = q.start, q.end
        # ``DailyWindow(start, end).contains(local.time())``, spelt out (once per decision)
        moment = local.time()
        self.quiet = quiet = (
            q.enabled
            and start != end
            and (start <= moment < end if start < end else moment >= start or moment < end)
        )
        #: When the quiet window ends (held intrusive channels), once per decision.
        self.quiet_end = _window_end(local, end, timezone) if quiet else None
        self.urgent_passes = context.urgency == _URGENT and q.urgent_may_pass
        #: When a commercial SMS may go (the French preset), None when it may go now.
        self.commercial_until = (
            next_commercial(local)
            if q.french_commercial_preset
            and context.message_type == _MARKETING
            and not commercial_allowed(local)
            else None
        )


#: ``_Facts`` by everything they are computed from (a broadcast's decisions share the moment,
#: the quiet hours and the message, so each chunk computes them about once); kept small.
_FACTS: dict[tuple[object, ...], _Facts] = {}
_FACTS_KEPT = 256


def _facts(context: RoutingContext, content: ReplyDraft, weights: dict[str, float]) -> _Facts:
    """``_Facts(context, content, weights)``, shared by the decisions with the same inputs."""
    if weights is not DEFAULT_WEIGHTS:
        return _Facts(context, content, weights)
    q = context.quiet_hours
    key = (
        context.now,
        context.timezone,
        context.urgency,
        context.message_type,
        q.enabled,
        q.start,
        q.end,
        q.urgent_may_pass,
        q.french_commercial_preset,
        content.text,
        bool(content.attachments or content.html),
        content.share_location,
    )
    found = _FACTS.get(key)
    if found is None:
        if len(_FACTS) >= _FACTS_KEPT:
            _FACTS.clear()
        found = _FACTS[key] = _Facts(context, content, weights)
    return found


#: Time zones by name, filled by ``zone`` (a dict read is cheaper than a cached call).
_ZONES: dict[str, ZoneInfo] = {}


@lru_cache(maxsize=256)
def _window(start: time, end: time) -> DailyWindow:
    return DailyWindow(start, end)


def _window_end(local: datetime, end: time, timezone: str) -> datetime:
    """``end_of_window`` with the window's end on each day computed once per zone and day."""
    end_today = _local_moment(local.date(), end, timezone)
    if end_today > local:
        return end_today
    return _local_moment(local.date() + timedelta(days=1), end, timezone)


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
    weights = weights_of(context) if context.settings.weights else DEFAULT_WEIGHTS
    facts = _facts(context, content, weights)
    candidates = _AUTO if channel is None else _with(_AUTO, channel)
    stopped, eligible = _score_all(candidates, context, content, facts, weights)
    if not eligible:
        return _no_channel(stopped, channel)
    if len(eligible) == 2:  # as sort would (ranks never tie: the channel's order is in them)
        if eligible[1].rank < eligible[0].rank:
            eligible.reverse()
    elif len(eligible) > 2:
        eligible.sort(key=_RANK)
    best = _reachable(eligible)
    if channel is None:
        chosen = eligible[0]
        others = eligible[1:3]
    else:
        found = next((s for s in eligible if s.channel == channel), None)
        if found is None:
            return _no_channel(stopped, channel)
        chosen = found
        others = [s for s in eligible if s is not chosen][:2]
    budget = context.monthly_budget
    alert = (
        _budget_warning(
            context.spent_this_month, chosen.cost, budget, context.settings.budget_alert_threshold
        )
        if budget
        else ()
    )
    # Built from values valid by construction: skip re-validation, decide must stay fast.
    return _construct(
        Decision,
        {
            "channel": chosen.channel,
            "confidence": _confidence(chosen, best),
            "reasons": tuple(chosen.reasons),
            "alternatives": tuple([_channel_score(s, best, context) for s in others]),
            "estimated_cost": chosen.cost,
            "estimated_delivery_seconds": _delivery(chosen, context),
            "held_until": chosen.held_until,
            "warnings": (*chosen.warnings, *alert) if alert else tuple(chosen.warnings),
            "blocked": (),
        },
    )


_RANK = attrgetter("rank")
_AUTO = ch.AUTO_CANDIDATES
#: A price's default for each candidate (``map(prices.get, candidates, _ZEROS)``).
_ZEROS = (_ZERO,) * len(ch.NAMES)


def _with(candidates: tuple[Channel, ...], channel: Channel) -> tuple[Channel, ...]:
    return candidates if channel in candidates else (*candidates, channel)


#: ``(("channel", value),)`` of every channel: the parameters most reasons carry.
_ON = {c: (("channel", str(c)),) for c in ch.NAMES}
_BLOCK_KEYS = (
    "not_allowed",
    "disabled",
    "opted_out",
    "no_contact",
    "unreachable",
    "cannot_carry",
)
#: The blocks that name only their channel, built once: ``_BLOCKS[channel]["disabled"]``.
_BLOCKS = {
    c: {k: _reason("availability", 0.0, f"blocked.{k}", channel=str(c)) for k in _BLOCK_KEYS}
    for c in ch.NAMES
}
#: What decide reads of each channel: its reasons' parameters, its name (``Reason.text`` names
#: it in the reader's language), its blocks, its length limit and its place among equals.
_SPEC = {c: (_ON[c], str(c), _BLOCKS[c], ch.HARD_LIMITS.get(c), ch.TIE_ORDER[c]) for c in ch.NAMES}
_URGENT_IN_QUIET = _reason("quiet_hours", 0.0, "warning.urgent_in_quiet_hours")
_OUTSIDE_WINDOW = _reason("availability", 0.0, "warning.template_outside_window")
_WINDOW_SHUT = _reason("availability", 0.0, "blocked.whatsapp_window")
_NO_CHANNEL = _reason("availability", 0, "blocked.no_channel")


def _score_all(
    candidates: tuple[Channel, ...],
    context: RoutingContext,
    content: ReplyDraft,
    facts: _Facts,
    weights: dict[str, float],
) -> tuple[list[tuple[Channel, list[Reason]]], list[_Scored]]:
    """Every candidate through every criterion, in one pass over the channels (a channel's
    criteria in the seed's order: preference, urgency, content, length, cost, quiet hours,
    message type, engagement): the blocked channels with their blocks, and the eligible ones
    scored. What the channels share is read once; a blocked channel is not scored (only its
    blocks are ever shown)."""
    allowed, enabled, contacts = context.allowed, context.enabled, context.contacts
    opted_out, unreachable, limits = context.opted_out, context.unreachable, context.limits
    settings = context.settings
    preferred, last_inbound = context.preferred_channel, context.last_inbound_channel
    conversation = context.message_type == _CONVERSATION
    analytics, tracked = settings.enable_analytics, settings.track_engagement
    engagement = context.engagement
    quiet_rules = facts.quiet or facts.commercial_until is not None or bool(limits)
    w_engagement = weights["engagement"]
    length, fixed = facts.length, facts.fixed
    get_price = context.prices.get
    costs = iter(
        _costs(
            candidates,
            tuple(map(get_price, candidates, _ZEROS)),
            facts.sms_segments,
            settings.max_cost_per_message,
            weights["cost"],
            context.urgency == _LOW,
        )
    )
    # no restriction, opt-out or unreachable channel: only "enabled" and "contact" can block
    restricted = allowed is not None or opted_out or unreachable
    stopped: list[tuple[Channel, list[Reason]]] = []
    eligible: list[_Scored] = []
    for channel in candidates:
        on, name, blocks, limit, tie = _SPEC[channel]
        blocked: list[Reason] = []
        warnings: list[Reason] = []
        # Availability (criterion 9 and the rules the seed left implicit): blocks, not points.
        if restricted and allowed is not None and channel not in allowed:
            blocked.append(blocks["not_allowed"])
        if channel not in enabled:
            blocked.append(blocks["disabled"])
        if restricted and channel in opted_out:
            blocked.append(blocks["opted_out"])
        if not contacts.get(channel):
            blocked.append(blocks["no_contact"])
        if restricted and channel in unreachable:
            blocked.append(blocks["unreachable"])
        if limit is not None and length > limit:
            params: _Params = (("channel", name), ("length", length), ("limit", limit))
            blocked.append(_shared("availability", 0.0, "blocked.too_long", params))
        if channel == _WHATSAPP:
            _whatsapp_window(context, blocked, warnings)
        elif channel == _VOICE and (content.attachments or content.html):
            blocked.append(blocks["cannot_carry"])
        if limits:
            _daily_limit(context, channel, name, blocked)
        cost, cost_points, cost_reason, too_expensive = next(costs)
        if too_expensive is not None:
            blocked.append(too_expensive)
        if blocked:  # only its blocks are ever shown
            stopped.append((channel, blocked))
            continue
        before_cost, first_points, first_reasons, by_type = fixed[channel]
        if preferred == channel and weights["preference"] != 0:
            weight = weights["preference"]
            points = {"preference": weight}
            reasons = [_shared("preference", weight, "reason.preferred", on)]
            for criterion, share, reason in before_cost:  # urgency, content, length
                points[criterion] = share
                reasons.append(reason)
        else:  # the same, copied from the message's table
            points, reasons = first_points.copy(), list(first_reasons)
        if cost_reason is not None:
            points["cost"] = cost_points
            reasons.append(cost_reason)
        held = (
            _quiet_hours(
                channel, points, reasons, warnings, context, facts, weights["quiet_hours"], on
            )
            if quiet_rules
            else None
        )
        if by_type is not None:
            points["message_type"] = by_type[0]
            reasons.append(by_type[1])
        elif conversation and last_inbound == channel:
            weight = weights["message_type"]
            if weight != 0:
                points["message_type"] = weight
                reasons.append(_shared("message_type", weight, "reason.type.conversation", on))
        if analytics:
            if not tracked:  # ORCHESTRATOR_TRACK_ENGAGEMENT=false
                reasons.append(_NOT_TRACKED[channel])
            elif (stats := engagement.get(channel)) is not None and stats.sent != 0:
                entry = _engagement(
                    stats.sent,
                    stats.replied,
                    stats.response_rate,
                    stats.prior_rate,
                    stats.median_response_seconds,
                    w_engagement,
                    name,
                )
                if entry is not None:
                    points["engagement"] = entry[0]
                    reasons.append(entry[1])
        eligible.append(_Scored(channel, warnings, cost, points, reasons, held, tie))
    return stopped, eligible


def _daily_limit(
    context: RoutingContext, channel: Channel, name: str, blocked: list[Reason]
) -> None:
    daily = context.limits.get(channel)
    if (
        daily is not None
        and daily.daily_limit is not None
        and context.sent_today.get(channel, 0) >= daily.daily_limit
    ):
        params = (("channel", name), ("limit", daily.daily_limit))
        blocked.append(_shared("availability", 0.0, "blocked.daily_limit", params))


def _whatsapp_window(
    context: RoutingContext, blocked: list[Reason], warnings: list[Reason]
) -> None:
    last = context.whatsapp_last_inbound_at
    if last is not None and context.now - last < WHATSAPP_WINDOW:
        left = last + WHATSAPP_WINDOW - context.now
        if left < _WINDOW_CLOSING:
            minutes = int(left.total_seconds() // 60)
            warnings.append(
                _shared("availability", 0.0, "warning.window_closing", (("minutes", minutes),))
            )
        return
    if context.whatsapp_template_approved:
        warnings.append(_OUTSIDE_WINDOW)
        return
    blocked.append(_WINDOW_SHUT)


#: A reason's values before it is built: criterion, points, translation key, parameters.
_Pending = tuple[str, float, str, _Params]
#: A criterion's points for a channel and its reason.
_Entry = tuple[str, float, Reason]
#: What a message gives a channel: its urgency, content and length entries, the same as the
#: first points and reasons of a channel the prospect does not prefer, and its message type's.
_ChannelFacts = tuple[
    tuple[_Entry, ...], dict[str, float], tuple[Reason, ...], tuple[float, Reason] | None
]
#: What a message gives each channel: (length, SMS segments, the per-channel table below).
_MessageFacts = tuple[int, int, dict[Channel, _ChannelFacts]]


@lru_cache(maxsize=1024)
def _message_facts(
    text: str,
    rich: bool,
    share_location: bool,
    urgency: Urgency,
    kind: MessageType,
    w_urgency: float,
    w_content: float,
    w_length: float,
    w_type: float,
) -> _MessageFacts:
    """For each channel, the urgency, content and length criteria's points and reasons (those
    that gave points), then the message type's (None for a conversation, which depends on the
    prospect): they depend on the message only, so a broadcast computes them once."""
    seg = count_segments(text)
    long = len(text) > 160
    content_kind = "rich" if rich else "location" if share_location else "plain"
    table: dict[Channel, _ChannelFacts] = {}
    for channel in ch.NAMES:
        on: _Params = _ON[channel]
        entries: list[_Pending] = []
        share = _URGENCY[urgency].get(channel, 0.0)
        if share:
            key = _URGENCY_KEYS[urgency, share > 0]
            entries.append(("urgency", w_urgency * share, key, on))
        share = _CONTENT[content_kind].get(channel, 0.0)
        entries.append(("content", w_content * share, _CONTENT_KEYS[content_kind, share > 0], on))
        entries.extend(_length(channel, seg, long, w_length, on))
        by_type: tuple[float, Reason] | None = None
        if kind != MessageType.CONVERSATION:
            share = _TYPE.get(kind, {}).get(channel, 0.0)
            points = w_type * share
            if points != 0:
                key = _TYPE_KEYS[kind, share > 0]
                by_type = (points, _shared("message_type", points, key, on))
        given = tuple((e[0], e[1], _shared(*e)) for e in entries if e[1] != 0)
        table[channel] = (
            given,
            {criterion: points for criterion, points, _ in given},
            tuple(reason for _, _, reason in given),
            by_type,
        )
    return len(text), max(1, seg.segments), table


@lru_cache(maxsize=1024)
def _default_message_facts(
    text: str, rich: bool, share_location: bool, urgency: Urgency, kind: MessageType
) -> _MessageFacts:
    """``_message_facts`` at the default weights (the weights are then not part of the key)."""
    w = DEFAULT_WEIGHTS
    return _message_facts(
        text,
        rich,
        share_location,
        urgency,
        kind,
        w["urgency"],
        w["content"],
        w["length"],
        w["message_type"],
    )


_URGENCY_KEYS = {
    (u, good): f"reason.urgency.{u.value}.{'good' if good else 'bad'}"
    for u in Urgency
    for good in (True, False)
}
_CONTENT = {"rich": _RICH, "location": _LOCATION, "plain": _PLAIN}
_CONTENT_KEYS = {
    ("rich", True): "reason.content.rich_good",
    ("rich", False): "reason.content.rich_bad",
    ("location", True): "reason.content.location_good",
    ("location", False): "reason.content.location_bad",
    ("plain", True): "reason.content.plain",
    ("plain", False): "reason.content.plain",
}
_TYPE_KEYS = {
    (k, good): f"reason.type.{k.value}.{'good' if good else 'bad'}"
    for k in MessageType
    for good in (True, False)
}


def _length(
    channel: Channel, seg: SegmentInfo, long: bool, weight: float, on: _Params
) -> list[_Pending]:
    if channel == Channel.SMS:
        params = (("segments", seg.segments), ("encoding", seg.encoding), ("units", seg.units))
        if seg.segments <= 1:
            capacity = (("capacity", seg.per_segment), *params)
            return [("length", weight, "reason.length.one_segment", capacity)]
        if seg.segments <= 3:
            return [("length", -weight / 2, "reason.length.segments", params)]
        return [("length", -weight, "reason.length.segments", params)]
    if long and channel != Channel.VOICE:
        share = 1.0 if channel == Channel.EMAIL else 0.5
        return [("length", weight * share, "reason.length.long_ok", on)]
    return []


#: A channel's cost, the cost criterion's points and reason, and its block (see ``_cost``).
_Cost = tuple[Decimal, float, Reason | None, Reason | None]


@lru_cache(maxsize=1024)
def _costs(
    candidates: tuple[Channel, ...],
    prices: tuple[Decimal, ...],
    sms_segments: int,
    cap: Decimal,
    weight: float,
    low: bool,
) -> tuple[_Cost, ...]:
    """``_cost`` of each candidate at its price (``sms_segments`` for SMS, 1 for the others),
    in one cached call per decision: a broadcast's prospects share prices and a message."""
    return tuple(
        [
            _cost(price, sms_segments if c == _SMS else 1, cap, weight, low, _ON[c][0][1])
            for c, price in zip(candidates, prices, strict=True)
        ]
    )


@lru_cache(maxsize=1024)
def _cost(
    price: Decimal, segments: int, cap: Decimal, weight: float, low: bool, name: str
) -> _Cost:
    """A channel's cost for ``segments`` (1 but for SMS), the cost criterion's points and
    reason (None when it gives no points), and the block when it is over ``cap``; compared in
    micro-euros."""
    cost = price * segments if segments > 1 else price
    text = str(cost)
    if cost > cap:
        params = (("channel", name), ("cost", text), ("cap", str(cap)))
        return cost, 0.0, None, _shared("availability", 0.0, "blocked.too_expensive", params)
    micros = math.ceil(cost * MICROS)  # rounded up: a fraction of a micro-euro is not free
    if micros == 0:
        share = 1.0
    elif micros <= _FREE_UP_TO:
        share = 0.75
    elif micros <= _CHEAP_UP_TO:
        share = 0.5
    else:
        share = -0.5 if low else 0.0
    points = weight * share
    if points == 0:
        return cost, 0.0, None, None
    key = "reason.cost.cheap" if share > 0 else "reason.cost.expensive"
    return cost, points, _shared("cost", points, key, (("channel", name), ("cost", text))), None


def _quiet_hours(
    channel: Channel,
    points: dict[str, float],
    reasons: list[Reason],
    warnings: list[Reason],
    context: RoutingContext,
    facts: _Facts,
    weight: float,
    on: _Params,
) -> datetime | None:
    """The quiet-hour rules' points, reasons and warnings for ``channel``, and until when they
    hold it (None: it may go now)."""
    held: datetime | None = None
    if facts.quiet and channel in _INTRUSIVE:
        if facts.urgent_passes:
            warnings.append(_URGENT_IN_QUIET)
        else:
            _add(points, reasons, -weight, "reason.quiet.intrusive", on)
            held = facts.quiet_end
    elif facts.quiet and channel == _EMAIL:
        _add(points, reasons, weight / 3, "reason.quiet.email_respectful")
    if facts.commercial_until is not None and channel == _SMS:
        _add(points, reasons, -weight, "reason.quiet.commercial_sms")
        held = _later(held, facts.commercial_until)
    limits = context.limits.get(channel)
    if limits is not None and limits.allowed_start is not None and limits.allowed_end is not None:
        allowed = _window(limits.allowed_start, limits.allowed_end)
        if not in_window(facts.local, allowed):
            _add(points, reasons, -weight / 2, "reason.quiet.outside_allowed", on)
            held = _later(held, next_in_allowed(facts.local, allowed))
    if held is not None:
        warnings.append(_held(held))
    return held


def _add(
    points: dict[str, float], reasons: list[Reason], given: float, key: str, params: _Params = ()
) -> None:
    """The quiet-hour criterion gives ``given`` more points (none: no reason)."""
    if given == 0:
        return
    points["quiet_hours"] = points.get("quiet_hours", 0.0) + given
    reasons.append(_shared("quiet_hours", given, key, params))


def _later(held: datetime | None, until: datetime) -> datetime:
    return until if held is None or until > held else held


#: The "held until" warning of a moment, by the moment's identity (the moment kept alive with
#: it): a broadcast's channels are held until the same cached end of the quiet hours.
_HELD: dict[int, tuple[datetime, Reason]] = {}


def _held(until: datetime) -> Reason:
    found = _HELD.get(id(until))
    if found is not None and found[0] is until:
        return found[1]
    warning = _shared("quiet_hours", 0.0, "warning.held", (("until", until.isoformat()),))
    if len(_HELD) >= 4096:
        _HELD.clear()
    _HELD[id(until)] = (until, warning)
    return warning


#: ``ORCHESTRATOR_TRACK_ENGAGEMENT=false``: the engagement criterion says so, for no points.
_NOT_TRACKED = {
    c: _reason("engagement", 0.0, "reason.engagement.not_tracked", channel=str(c)) for c in ch.NAMES
}


@lru_cache(maxsize=4096, typed=True)
def _engagement(
    sent: int,
    replied: int,
    rate: float,
    prior: float,
    median: float | None,
    weight: float,
    name: str,
) -> tuple[float, Reason] | None:
    """The engagement criterion's points and reason for a channel's history (``sent`` > 0),
    None when it gives none; cached, as a broadcast's prospects share a few histories."""
    # max/min spelt as comparisons (with their ties and signed zeros), as before the cache
    spread = (1 - prior if 1 - prior > prior else prior) or 1.0
    share = (rate - prior) / spread
    if share > 1.0:
        share = 1.0
    elif share < -1.0:
        share = -1.0
    points = weight * share
    if share == 0 or points == 0:
        return None
    key = "reason.engagement.good" if share > 0 else "reason.engagement.poor"
    params = (
        ("channel", name),
        ("rate", round(rate * 100)),
        ("replied", replied),
        ("sent", sent),
        ("count", sent),  # the plural form follows the messages sent
        ("minutes", None if median is None else round(median / 60)),
    )
    return points, _shared("engagement", points, key, params)


def _reachable(eligible: list[_Scored]) -> float:
    """The best score reachable: the most any channel got on each criterion, summed in the
    order the criteria first gave points."""
    first = eligible[0].points
    if len(eligible) == 1:  # the same sum, in the same order
        return sum([points for points in first.values() if points > 0.0])
    best = {criterion: points for criterion, points in first.items() if points > 0.0}
    get = best.get
    for s in eligible[1:]:
        for criterion, points in s.points.items():
            if points > get(criterion, 0.0):
                best[criterion] = points
    return sum(best.values())


def _confidence(s: _Scored, best: float) -> float:
    if best <= 0:
        return 0.5 if s.score >= 0 else 0.0
    share = s.score / best  # clipped to [0, 1], as max(0.0, min(1.0, share)) (no -0.0)
    if share <= 0.0:
        return 0.0
    if share >= 1.0:
        return 1.0
    return _round(share, 1000.0, 3)


def _round(x: float, scale: float, digits: int) -> float:
    """``round(x, digits)`` (``scale`` being ``10 ** digits``), without going through decimal
    digits when ``x * scale`` is clearly away from a half: the nearest integer ``k`` is then
    the correctly rounded one, and ``k / scale`` is the float nearest to the decimal, as
    ``round`` gives. Zero (its sign), halves, huge values and NaN go to ``round``."""
    y = x * scale
    if -1e15 < y < 1e15:
        k = round(y)
        if k and -0.4999999 < y - k < 0.4999999:
            return k / scale
    return round(x, digits)


def _delivery(s: _Scored, context: RoutingContext) -> float:
    seconds = _DELIVERY_SECONDS[s.channel]
    if s.held_until is None:
        return seconds
    wait = (s.held_until - context.now).total_seconds()
    return seconds + wait if wait > 0.0 else seconds


def _channel_score(s: _Scored, best: float, context: RoutingContext) -> ChannelScore:
    return _construct(
        ChannelScore,
        {
            "channel": s.channel,
            "confidence": _confidence(s, best),
            "score": _round(s.score, 100.0, 2),
            "reasons": tuple(s.reasons),
            "estimated_cost": s.cost,
            "estimated_delivery_seconds": _delivery(s, context),
            "eligible": True,
        },
    )


def _no_channel(stopped: list[tuple[Channel, list[Reason]]], channel: Channel | None) -> Decision:
    """The decision when no channel (or not ``channel``) is eligible: every block that stopped
    one, in the candidates' order (an eligible channel has none)."""
    blocked = tuple(r for c, blocks in stopped if channel is None or c == channel for r in blocks)
    # As ``Decision(channel=None, confidence=0.0, reasons=(summary,), blocked=blocked)`` would
    # make it (the other fields at their defaults), without validating what we built.
    return _construct(
        Decision,
        {
            "channel": None,
            "confidence": 0.0,
            "reasons": (_NO_CHANNEL,),
            "alternatives": (),
            "estimated_cost": _NO_COST,
            "estimated_delivery_seconds": 0,
            "held_until": None,
            "warnings": (),
            "blocked": blocked,
        },
    )


_NO_COST = Decision.model_fields["estimated_cost"].default


@lru_cache(maxsize=4096)
def _budget_warning(
    spent: Decimal, cost: Decimal, budget: Decimal, threshold: float
) -> tuple[Reason, ...]:
    # Cached: a broadcast's prospects share the month's spending and the channels' costs.
    ratio = float((spent + cost) / budget)
    if ratio >= threshold:
        return (_reason("cost", 0, "warning.budget", percent=round(ratio * 100)),)
    return ()
