"""A batch of automated requests is checked by the automation policy as the same requests one
by one would be: its reads are done once (``core.automation.snapshot``) and kept up to date
with the batch's own verdicts (the hourly ceiling, a pause, an intent answered once)."""

from __future__ import annotations

from core.domain.decision import ReplyDraft
from core.domain.enums import SenderType
from core.pipeline import Kind, Origin, OutgoingRequest, submit
from tests.unit.outbox.conftest import Scene

#: Seven answers to Marie, then the first intent again: five go out (the hourly ceiling),
#: the sixth pauses automation and is held, the seventh is held (paused), the repeat is quiet.
INTENTS = ["i0", "i1", "i2", "i3", "i4", "i5", "i6", "i0"]
EXPECTED = ["queued"] * 5 + ["held", "held", "quiet"]


def answers(scene: Scene, run: str) -> list[OutgoingRequest]:
    return [
        OutgoingRequest(
            tenant_id=scene.service.ctx.tenant_id,
            prospect_id=scene.prospect_id,
            kind=Kind.SARA_ANSWER,
            origin=Origin.AUTOMATION,
            draft=ReplyDraft(text=f"Réponse {i}"),
            conversation_id=scene.conversation_id,
            direct=True,
            key=f"test:{run}:{i}",
            intent=intent,
            purpose="sara",
            sender_type=SenderType.SARA,
        )
        for i, intent in enumerate(INTENTS)
    ]


async def statuses(scene: Scene, requests: list[OutgoingRequest], together: bool) -> list[str]:
    ctx = scene.service.ctx
    found = []
    async with ctx.write() as (session, events):
        batches = [requests] if together else [[r] for r in requests]
        for batch in batches:
            for outcome in await submit(session, batch, now=ctx.now(), events=events):
                verdict = outcome.message.meta.get("automation") if outcome.message else None
                held = bool(verdict) and verdict.get("outcome") == "held"
                found.append("held" if held else outcome.status)
    return found


async def test_one_by_one(scene: Scene) -> None:
    assert await statuses(scene, answers(scene, "a"), together=False) == EXPECTED


async def test_a_batch_decides_as_one_by_one(scene: Scene) -> None:
    assert await statuses(scene, answers(scene, "b"), together=True) == EXPECTED
