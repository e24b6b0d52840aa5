"""``queue.Records``: a batch's decisions stored exactly as ``model_dump(mode="json")`` stores
them, its shared explanations dumped once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.decision import ChannelScore, Decision, Reason, ReplyDraft
from core.domain.enums import Channel
from core.orchestrator.context import RoutingContext
from core.orchestrator.decide import decide
from core.pipeline.queue import Records, decision_record
from tests.unit.orchestrator.test_equivalence import CHANNELS, contexts, drafts

#: One batch's records across the examples, as a broadcast's prospects share one.
_BATCH = Records()


def _same(decision: Decision, records: Records) -> None:
    made = decision_record(decision, records)
    assert made == decision.model_dump(mode="json")
    assert json.dumps(made) == json.dumps(decision.model_dump(mode="json"))


@settings(max_examples=300, deadline=None)
@given(contexts(), drafts, st.none() | st.sampled_from(CHANNELS))
def test_a_batch_stores_each_decision_as_pydantic_does(
    ctx: RoutingContext, draft: ReplyDraft, asked: Channel | None
) -> None:
    _same(decide(ctx, draft, asked), _BATCH)


def test_numbers_and_times_are_stored_in_pydantic_s_form() -> None:
    """Integers in float fields, decimals' own digits, times in UTC and another zone."""
    reason = Reason(criterion="cost", points=3, key="reason.cost", params={"cost": Decimal("1E+1")})
    alternative = ChannelScore.model_construct(
        channel=Channel.EMAIL,
        confidence=1,
        score=2,
        reasons=(reason,),
        estimated_cost=Decimal("0.0750"),
        estimated_delivery_seconds=30,
        eligible=True,
    )
    records = Records()
    for held in (
        None,
        datetime(2026, 3, 10, 21, 0, 0, 123, tzinfo=UTC),
        datetime(2026, 3, 10, 21, 0, tzinfo=timezone(timedelta(hours=1))),
    ):
        decision = Decision.model_construct(
            channel=Channel.SMS,
            confidence=1,
            reasons=(reason, reason),
            alternatives=(alternative,),
            estimated_cost=Decimal("0.05"),
            estimated_delivery_seconds=5,
            held_until=held,
            warnings=(),
            blocked=(reason,),
        )
        _same(decision, records)
    _same(Decision(channel=None, blocked=(reason,)), records)


def test_the_bench_inputs_are_stored_alike() -> None:
    from core.bench.decide_inputs import inputs

    records = Records()
    for ctx, draft in inputs(1_000, seed=7):
        _same(decide(ctx, draft), records)


def test_a_reason_freed_and_its_id_reused_is_dumped_anew() -> None:
    """Dumps are kept by the reason's id: a reason made and dropped per decision (its id then
    given to the next one) must not be stored with its predecessor's explanation."""
    records = Records()
    for points in range(50):
        reason = Reason(criterion="cost", points=points, key="reason.cost")
        made = records.record(Decision(channel=None, blocked=(reason,)))
        assert made["blocked"][0]["points"] == points
        del reason, made
