"""A broadcast reads and decides its next chunk while the last one is written: order kept, one
write in flight, and an interrupted broadcast resumed queues every prospect exactly once."""

from __future__ import annotations

import asyncio
import gc
from collections import Counter

import pytest
from sqlalchemy import func, select

from core.domain.decision import ReplyDraft
from core.domain.enums import MessageType
from core.service import broadcasting
from core.storage import tables as t
from tests.factories import add_message, add_prospect
from tests.unit.outbox.conftest import Scene

DRAFT = ReplyDraft(text="Portes ouvertes samedi", message_type=MessageType.MARKETING)


async def _prospects(scene: Scene, count: int) -> list[int]:
    """``count`` prospects, every third with a conversation already (updated, not opened)."""
    ids = []
    for i in range(count):
        pid = await add_prospect(scene.service, f"P {i}", phone=f"+336{i:08d}")
        if i % 3 == 0:
            await add_message(scene.service, pid, "Bonjour")
        ids.append(pid)
    return ids


async def _state(scene: Scene, bid: str) -> tuple[Counter[int], list[int]]:
    """Outbox rows per prospect of broadcast ``bid``, and every conversation whose
    ``message_count`` differs from its messages."""
    async with scene.service.db.session() as session:
        rows = await session.execute(
            select(t.OutboxRow.prospect_id).where(t.OutboxRow.broadcast_id == bid)
        )
        per_prospect = Counter(pid for (pid,) in rows)
        M, C = t.MessageRow, t.ConversationRow
        counted = select(M.conversation_id, func.count().label("n")).group_by(M.conversation_id)
        sub = counted.subquery()
        wrong = await session.execute(
            select(C.id)
            .outerjoin(sub, sub.c.conversation_id == C.id)
            .where(C.message_count != func.coalesce(sub.c.n, 0))
        )
        return per_prospect, [cid for (cid,) in wrong]


async def test_chunks_are_written_in_order_one_at_a_time_while_the_next_is_read(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await _prospects(scene, 10)
    log: list[str] = []
    real_plan, real_write = broadcasting.plan, broadcasting.write_plan

    async def plan(session, requests, **kwargs):  # type: ignore[no-untyped-def]
        log.append(f"plan {requests[0].prospect_id}")
        return await real_plan(session, requests, **kwargs)

    async def write_plan(session, planned, events):  # type: ignore[no-untyped-def]
        first = planned.outcomes[0].request.prospect_id
        log.append(f"write {first}")
        await asyncio.sleep(0.05)  # long enough for the next chunk's reading to run
        outcomes = await real_write(session, planned, events)
        log.append(f"wrote {first}")
        return outcomes

    monkeypatch.setattr(broadcasting, "plan", plan)
    monkeypatch.setattr(broadcasting, "write_plan", write_plan)
    bid = await scene.service.outbound.broadcast(ids, DRAFT, chunk_size=4)

    a, b, c = (str(pid) for pid in (ids[0], ids[4], ids[8]))
    at = {entry: n for n, entry in enumerate(log)}
    assert len(at) == len(log) == 9
    # in order, one write at a time
    assert at["wrote " + a] < at["write " + b] and at["wrote " + b] < at["write " + c]
    # the next chunk is read while the one before is written
    assert at["plan " + b] < at["wrote " + a] and at["plan " + c] < at["wrote " + b]
    # a chunk is read only once the one before the chunk in flight has committed
    assert at["wrote " + a] < at["plan " + c]
    per_prospect, wrong = await _state(scene, bid)
    assert per_prospect == Counter(ids) and wrong == []


async def test_with_the_overlap_off_each_chunk_is_written_before_the_next_is_read(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await _prospects(scene, 8)
    log: list[str] = []
    real_plan, real_write = broadcasting.plan, broadcasting.write_plan

    async def plan(session, requests, **kwargs):  # type: ignore[no-untyped-def]
        log.append("plan")
        return await real_plan(session, requests, **kwargs)

    async def write_plan(session, planned, events):  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.05)
        outcomes = await real_write(session, planned, events)
        log.append("wrote")
        return outcomes

    monkeypatch.setattr(broadcasting, "OVERLAP", False)
    monkeypatch.setattr(broadcasting, "plan", plan)
    monkeypatch.setattr(broadcasting, "write_plan", write_plan)
    bid = await scene.service.outbound.broadcast(ids, DRAFT, chunk_size=4)
    assert log == ["plan", "wrote", "plan", "wrote"]
    per_prospect, wrong = await _state(scene, bid)
    assert per_prospect == Counter(ids) and wrong == []


async def test_a_failed_write_stops_the_broadcast_and_a_resume_queues_each_once(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await _prospects(scene, 12)
    real_write = broadcasting.write_plan
    writes = 0

    async def failing(session, planned, events):  # type: ignore[no-untyped-def]
        nonlocal writes
        writes += 1
        outcomes = await real_write(session, planned, events)  # written, then lost
        if writes == 2:
            raise OSError("disk gone mid-chunk")
        return outcomes

    monkeypatch.setattr(broadcasting, "write_plan", failing)
    with pytest.raises(OSError):
        await scene.service.outbound.broadcast(ids, DRAFT, broadcast_id="bc1", chunk_size=4)
    per_prospect, wrong = await _state(scene, "bc1")
    assert per_prospect == Counter(ids[:4])  # the first chunk committed, the second rolled back
    assert wrong == []

    monkeypatch.setattr(broadcasting, "write_plan", real_write)
    await scene.service.outbound.broadcast(ids, DRAFT, broadcast_id="bc1", chunk_size=4)
    per_prospect, wrong = await _state(scene, "bc1")
    assert per_prospect == Counter(ids) and wrong == []


async def test_a_prospect_twice_waits_for_the_chunk_in_flight_and_is_queued_once(
    scene: Scene,
) -> None:
    ids = await _prospects(scene, 6)
    bid = await scene.service.outbound.broadcast(ids + ids[:3] + ids, DRAFT, chunk_size=3)
    per_prospect, wrong = await _state(scene, bid)
    assert per_prospect == Counter(ids) and wrong == []


async def test_the_collector_is_off_for_the_broadcast_and_collects_every_few_chunks(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its automatic collections walked the chunks alive at each one (~5 % of the CPU); the
    cycles chunks leave are still collected as the broadcast goes."""
    ids = await _prospects(scene, 9)
    seen: list[str] = []
    real_plan, real_write = broadcasting.plan, broadcasting.write_plan

    async def plan(session, requests, **kwargs):
        seen.append("plan, collector on" if gc.isenabled() else "plan")
        return await real_plan(session, requests, **kwargs)

    async def write_plan(session, planned, events):
        seen.append("write, collector on" if gc.isenabled() else "write")
        return await real_write(session, planned, events)

    monkeypatch.setattr(broadcasting, "plan", plan)
    monkeypatch.setattr(broadcasting, "write_plan", write_plan)
    monkeypatch.setattr(broadcasting, "COLLECT_EVERY", 2)
    monkeypatch.setattr(broadcasting, "collect_young", lambda: seen.append("collect"))
    gc.enable()
    await scene.service.outbound.broadcast(ids, DRAFT, chunk_size=2)

    assert gc.isenabled()  # as it was
    assert sorted(seen) == ["collect"] * 2 + ["plan"] * 5 + ["write"] * 5  # 9 prospects, by 2
