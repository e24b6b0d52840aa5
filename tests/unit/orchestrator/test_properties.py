"""Properties of ``decide`` over generated contexts (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from core.analytics.engagement import ChannelEngagement
from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, MessageType, Urgency
from core.domain.tenant_settings import QuietHours
from core.orchestrator.context import RoutingContext
from core.orchestrator.decide import WHATSAPP_WINDOW, decide
from core.orchestrator.hours import DailyWindow, in_window, zone

CHANNELS = list(Channel)
IDS = {
    Channel.SMS: "+33612345678",
    Channel.VOICE: "+33612345678",
    Channel.EMAIL: "a@example.com",
    Channel.WHATSAPP: "+33612345678",
    Channel.TELEGRAM: "12345",
}

subsets = st.frozensets(st.sampled_from(CHANNELS))
moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
engagements = st.dictionaries(
    st.sampled_from(CHANNELS),
    st.tuples(st.integers(1, 50), st.floats(0, 1)).map(lambda p: (p[0], round(p[0] * p[1]))),
    max_size=3,
)


@st.composite
def contexts(draw: st.DrawFn) -> RoutingContext:
    now = draw(moments)
    reachable = draw(subsets)
    last_wa = draw(st.none() | st.integers(0, 72).map(lambda h: now - timedelta(hours=h)))
    stats = {
        c: ChannelEngagement(c, sent=n, replied=r, response_rate=(2 + r) / (4 + n), prior_rate=0.5)
        for c, (n, r) in draw(engagements).items()
    }
    return RoutingContext(
        now=now,
        contacts={c: IDS[c] for c in reachable},
        enabled=draw(subsets),
        opted_out=draw(subsets),
        unreachable=draw(subsets),
        preferred_channel=draw(st.none() | st.sampled_from(CHANNELS)),
        message_type=draw(st.sampled_from(list(MessageType))),
        urgency=draw(st.sampled_from(list(Urgency))),
        timezone=draw(st.sampled_from(["Europe/Paris", "America/Montreal", "Asia/Tokyo"])),
        quiet_hours=QuietHours(
            enabled=draw(st.booleans()),
            french_commercial_preset=draw(st.booleans()),
            urgent_may_pass=draw(st.booleans()),
        ),
        whatsapp_last_inbound_at=last_wa,
        whatsapp_template_approved=draw(st.booleans()),
        last_inbound_channel=draw(st.none() | st.sampled_from(CHANNELS)),
        engagement=stats,
    )


drafts = st.builds(
    ReplyDraft,
    text=st.text(max_size=400) | st.just("x" * 5000),
    html=st.none() | st.just("<p>hi</p>"),
    share_location=st.booleans(),
)


def _quiet(ctx: RoutingContext) -> bool:
    local = ctx.now.astimezone(zone(ctx.timezone))
    q = ctx.quiet_hours
    return q.enabled and in_window(local, DailyWindow(q.start, q.end))


@settings(max_examples=400, deadline=None)
@given(contexts(), drafts, st.none() | st.sampled_from(CHANNELS))
def test_decisions_respect_every_rule(ctx: RoutingContext, draft: ReplyDraft, asked) -> None:
    decision = decide(ctx, draft, asked)
    chosen = [decision.channel, *(a.channel for a in decision.alternatives)]
    for channel in filter(None, chosen):
        # Never an opted-out, disabled or unreachable channel.
        assert channel in ctx.enabled
        assert channel not in ctx.opted_out
        assert channel not in ctx.unreachable
        assert ctx.contacts.get(channel)
    if decision.channel is None:
        assert decision.blocked
        return
    # Never SMS during quiet hours unless urgent (and allowed to pass): it is held past them.
    if decision.channel == Channel.SMS and _quiet(ctx):
        urgent_passes = ctx.urgency == Urgency.URGENT and ctx.quiet_hours.urgent_may_pass
        assert urgent_passes or (decision.held_until is not None and decision.held_until > ctx.now)
        if decision.held_until is not None:
            q = ctx.quiet_hours
            local = decision.held_until.astimezone(zone(ctx.timezone))
            assert not in_window(local, DailyWindow(q.start, q.end))
    # Never free-form WhatsApp outside the 24 h window.
    if Channel.WHATSAPP in chosen:
        last = ctx.whatsapp_last_inbound_at
        in_24h = last is not None and ctx.now - last < WHATSAPP_WINDOW
        assert in_24h or ctx.whatsapp_template_approved
    # Confidences in [0, 1]; alternatives ordered best first.
    assert 0 <= decision.confidence <= 1
    assert all(0 <= a.confidence <= 1 for a in decision.alternatives)
    scores = [a.score for a in decision.alternatives]
    assert scores == sorted(scores, reverse=True)
    if asked is None:
        assert all(a.confidence <= decision.confidence for a in decision.alternatives)
    else:
        assert decision.channel == asked
