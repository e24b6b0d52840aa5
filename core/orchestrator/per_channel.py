"""Deciding for a message written once per channel (a template that exists on several channels).

``decide`` weighs one content on every channel. A campaign step has a rendering per channel (a
160-character SMS, a WhatsApp template with emoji, an HTML email), so each channel is weighed
with its own rendering: its eligibility, cost, hold and reasons are those of what it would send.
The channels are then ranked by their points as ``decide`` ranks them, and the runners-up are the
alternatives (the fallback chain). Pure, like ``decide``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from core.domain.decision import ChannelScore, Decision, Reason, ReplyDraft
from core.domain.enums import Channel
from core.orchestrator.channels import TIE_ORDER
from core.orchestrator.context import RoutingContext
from core.orchestrator.decide import decide

_ALTERNATIVES = 2


def decide_per_channel(
    context: RoutingContext,
    contents: Mapping[Channel, ReplyDraft],
    channel: Channel | None = None,
) -> Decision:
    """Choose among the channels of ``contents`` (or judge ``channel``), each with its content.

    Only the channels of ``contents`` (and allowed by ``context``) are candidates. Never raises:
    with no usable channel the decision has none and says why, like ``decide``.
    """
    alone = {c: _alone(context, content, c) for c, content in contents.items()}
    eligible = [(c, d) for c, d in alone.items() if d.channel is not None]
    eligible.sort(key=lambda item: (-_score(item[1]), TIE_ORDER[item[0]]))
    chosen = next((d for c, d in eligible if channel is None or c == channel), None)
    if chosen is None:
        pool = [d for c, d in alone.items() if channel is None or c == channel]
        return Decision(
            channel=None,
            confidence=0.0,
            reasons=(_no_channel(pool),),
            blocked=tuple(r for d in pool for r in d.blocked),
        )
    best = _reachable([d for _, d in eligible])
    others = [d for _, d in eligible if d is not chosen][:_ALTERNATIVES]
    return chosen.model_copy(
        update={
            "confidence": _confidence(chosen, best),
            "alternatives": tuple(_as_alternative(d, best) for d in others),
        }
    )


def _alone(context: RoutingContext, content: ReplyDraft, channel: Channel) -> Decision:
    allowed = frozenset({channel})
    if context.allowed is not None:
        allowed &= context.allowed
    return decide(replace(context, allowed=allowed), content, channel)


def _score(decision: Decision) -> float:
    return sum(reason.points for reason in decision.reasons)


def _reachable(decisions: list[Decision]) -> float:
    """The best score reachable: per criterion, the most any eligible channel got."""
    best: dict[str, float] = {}
    for decision in decisions:
        points: dict[str, float] = {}
        for reason in decision.reasons:
            points[reason.criterion] = points.get(reason.criterion, 0.0) + reason.points
        for criterion, value in points.items():
            best[criterion] = max(best.get(criterion, 0.0), value)
    return sum(best.values())


def _confidence(decision: Decision, best: float) -> float:
    score = _score(decision)
    if best <= 0:
        return 0.5 if score >= 0 else 0.0
    return round(max(0.0, min(1.0, score / best)), 3)


def _as_alternative(decision: Decision, best: float) -> ChannelScore:
    assert decision.channel is not None
    return ChannelScore(
        channel=decision.channel,
        confidence=_confidence(decision, best),
        score=round(_score(decision), 2),
        reasons=decision.reasons,
        estimated_cost=decision.estimated_cost,
        estimated_delivery_seconds=decision.estimated_delivery_seconds,
    )


def _no_channel(pool: list[Decision]) -> Reason:
    for decision in pool:
        if decision.reasons:
            return decision.reasons[0]
    return Reason(criterion="availability", points=0, key="orchestrator.blocked.no_channel")
