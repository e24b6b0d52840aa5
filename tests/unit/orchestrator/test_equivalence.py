"""The fast ``decide`` gives the same decisions and explanations as the straightforward one
(``reference_decide``), on thousands of generated contexts that reach every criterion and rule."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from core.analytics.engagement import ChannelEngagement
from core.config.settings import OrchestratorSettings
from core.domain.decision import Decision, ReplyDraft
from core.domain.enums import Channel, MessageType, Urgency
from core.domain.tenant_settings import ChannelLimits, QuietHours
from core.orchestrator.context import RoutingContext
from core.orchestrator.decide import DEFAULT_WEIGHTS, decide
from tests.unit.orchestrator import reference_decide

CHANNELS = list(Channel)
IDS = {
    Channel.SMS: "+33612345678",
    Channel.VOICE: "+33612345678",
    Channel.EMAIL: "a@example.com",
    Channel.WHATSAPP: "+33612345678",
    Channel.TELEGRAM: "12345",
}
#: Around the DST changes of 2026 and French public holidays (1 May, 14 July, Christmas).
_NEAR = [
    datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
    datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
    datetime(2026, 3, 8, 6, 30, tzinfo=UTC),
    datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
    datetime(2026, 4, 30, 17, 0, tzinfo=UTC),
    datetime(2026, 7, 13, 19, 0, tzinfo=UTC),
    datetime(2026, 12, 24, 18, 0, tzinfo=UTC),
]

subsets = st.frozensets(st.sampled_from(CHANNELS))
moments = st.sampled_from(_NEAR).flatmap(
    lambda m: st.integers(-36 * 60, 36 * 60).map(lambda n: m + timedelta(minutes=n))
) | st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
_CLOCKS = [time(0, 0), time(2, 30), time(8, 0), time(20, 0), time(22, 0)]
clocks = st.sampled_from(_CLOCKS) | st.times()
prices = st.sampled_from(
    [Decimal("0"), Decimal("0.0006"), Decimal("0.001"), Decimal("0.0010001"), Decimal("0.01"),
     Decimal("0.02"), Decimal("0.05"), Decimal("0.0333333"), Decimal("0.1"), Decimal("0.12")]
)  # fmt: skip
limits = st.builds(
    ChannelLimits,
    daily_limit=st.none() | st.integers(0, 5),
    allowed_start=st.none() | clocks,
    allowed_end=st.none() | clocks,
)
weights = st.dictionaries(
    st.sampled_from(sorted(DEFAULT_WEIGHTS)), st.sampled_from([0, 1, 7.5, 30, 100]), max_size=3
)
orchestrator_settings = st.builds(
    OrchestratorSettings,
    max_cost_per_message=st.sampled_from([Decimal("0"), Decimal("0.01"), Decimal("0.05"),
                                          Decimal("0.10"), Decimal("1")]),
    budget_alert_threshold=st.sampled_from([0.5, 0.8, 1.0]),
    enable_analytics=st.booleans(),
    track_engagement=st.booleans(),
    weights=weights,
)  # fmt: skip


@st.composite
def contexts(draw: st.DrawFn) -> RoutingContext:
    now = draw(moments)
    reachable = draw(subsets)
    minutes = st.integers(0, 72 * 60).map(lambda n: now - timedelta(minutes=n))
    stats = {
        c: ChannelEngagement(
            c,
            sent=n,
            replied=r,
            response_rate=(2 + r) / (4 + n),
            prior_rate=draw(st.sampled_from([0.0, 1 / 3, 0.5, 1.0])),
            median_response_seconds=draw(st.none() | st.floats(0, 1e6)),
        )
        for c, (n, r) in draw(
            st.dictionaries(
                st.sampled_from(CHANNELS),
                st.tuples(st.integers(0, 50), st.floats(0, 1)).map(
                    lambda p: (p[0], round(p[0] * p[1]))
                ),
                max_size=5,
            )
        ).items()
    }
    budget = draw(st.none() | st.sampled_from([Decimal("0"), Decimal("10"), Decimal("300")]))
    return RoutingContext(
        now=now,
        contacts={c: IDS[c] for c in reachable} | draw(st.just({}) | st.just({Channel.SMS: ""})),
        enabled=draw(subsets),
        opted_out=draw(subsets),
        unreachable=draw(subsets),
        allowed=draw(st.none() | subsets),
        preferred_channel=draw(st.none() | st.sampled_from(CHANNELS)),
        message_type=draw(st.sampled_from(list(MessageType))),
        urgency=draw(st.sampled_from(list(Urgency))),
        timezone=draw(
            st.sampled_from(
                ["Europe/Paris", "America/Montreal", "Asia/Tokyo", "UTC", "Australia/Lord_Howe"]
            )
        ),
        quiet_hours=QuietHours(
            enabled=draw(st.booleans()),
            start=draw(clocks),
            end=draw(clocks),
            french_commercial_preset=draw(st.booleans()),
            urgent_may_pass=draw(st.booleans()),
        ),
        limits=draw(st.dictionaries(st.sampled_from(CHANNELS), limits, max_size=3)),
        sent_today=draw(st.dictionaries(st.sampled_from(CHANNELS), st.integers(0, 6))),
        prices=draw(st.dictionaries(st.sampled_from(CHANNELS), prices)),
        settings=draw(orchestrator_settings),
        last_inbound_channel=draw(st.none() | st.sampled_from(CHANNELS)),
        whatsapp_last_inbound_at=draw(st.none() | minutes),
        whatsapp_template_approved=draw(st.booleans()),
        engagement=stats,
        monthly_budget=budget,
        spent_this_month=draw(st.sampled_from([Decimal("0"), Decimal("9.99"), Decimal("250")])),
    )


#: Lengths at the criteria's edges: one SMS segment (160 GSM-7, 70 UCS-2), three, the long-text
#: mark (160), the hard limits (1,600 SMS, 4,096 WhatsApp and Telegram).
_EDGES = [0, 1, 69, 70, 71, 134, 153, 159, 160, 161, 201, 459, 460, 1600, 1601, 4096, 4097]
texts = (
    st.text(max_size=400)
    | st.sampled_from(["Bonjour", "🙂" * 40, "a{b}c" * 40])
    | st.tuples(st.sampled_from(["y", "é", "€", "^"]), st.sampled_from(_EDGES)).map(
        lambda p: p[0] * p[1]
    )
    | st.integers(0, 5000).map(lambda n: "y" * n)
)
drafts = st.builds(
    ReplyDraft,
    text=texts,
    html=st.none() | st.just("<p>hi</p>"),
    attachments=st.just(()) | st.just((Path("plan.pdf"),)),
    share_location=st.booleans(),
)


def _explained(decision: Decision) -> dict[str, Any]:
    """Everything a decision says, with the reasons' own texts (their translation keys)."""
    dumped = decision.model_dump()
    dumped["texts"] = [r.text for r in (*decision.reasons, *decision.warnings, *decision.blocked)]
    return dumped


@settings(max_examples=2000, deadline=None)
@given(contexts(), drafts, st.none() | st.sampled_from(CHANNELS))
def test_fast_decide_matches_the_reference(
    ctx: RoutingContext, draft: ReplyDraft, asked: Channel | None
) -> None:
    assert _explained(decide(ctx, draft, asked)) == _explained(
        reference_decide.decide(ctx, draft, asked)
    )


def test_the_bench_inputs_decide_the_same() -> None:
    # The bench's 10,000 varied contexts (the ones the speed is measured on), 2,000 of them.
    from core.bench.decide_inputs import inputs

    for ctx, draft in inputs(2_000, seed=5):
        assert _explained(decide(ctx, draft)) == _explained(reference_decide.decide(ctx, draft))


#: A prospect reachable by SMS, voice and e-mail, every channel enabled.
_BASE: dict[str, Any] = {
    "contacts": {
        Channel.SMS: "+33612345678",
        Channel.VOICE: "+33612345678",
        Channel.EMAIL: "a@b.fr",
    },
    "enabled": frozenset(Channel),
    "prospect_id": 1,
    "prospect_name": "Marie Dupont",
    "message_type": MessageType.MARKETING,
}


def test_decisions_sharing_a_moment_follow_their_own_quiet_hours_and_zone() -> None:
    # decide shares what a moment, its quiet hours and the message give (a broadcast's
    # decisions); one with other quiet hours, zone, urgency or text must not reuse them.
    night = datetime(2026, 3, 10, 22, 30, tzinfo=UTC)
    draft = ReplyDraft(text="Nouvelles annonces", message_type=MessageType.MARKETING)
    shut = QuietHours(start=time(22, 0), end=time(8, 0))
    variants = [
        RoutingContext(**{**_BASE, "now": night, "quiet_hours": shut}),
        RoutingContext(**{**_BASE, "now": night, "quiet_hours": QuietHours(enabled=False)}),
        RoutingContext(**{**_BASE, "now": night, "quiet_hours": shut, "timezone": "Asia/Tokyo"}),
        RoutingContext(**{**_BASE, "now": night, "quiet_hours": shut, "urgency": Urgency.URGENT}),
        RoutingContext(**{**_BASE, "now": night + timedelta(hours=10), "quiet_hours": shut}),
    ]
    drafts = [draft, draft.model_copy(update={"text": "x" * 400})]
    for _ in range(2):  # the second round reads what the first one left shared
        for ctx in variants:
            for content in drafts:
                for asked in (None, Channel.SMS):
                    assert _explained(decide(ctx, content, asked)) == _explained(
                        reference_decide.decide(ctx, content, asked)
                    )
    held = {decide(ctx, draft, Channel.SMS).held_until is not None for ctx in variants}
    assert held == {True, False}, "the variants reach both a hold and no hold"
