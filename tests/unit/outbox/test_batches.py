"""The outbox worker sends a claimed batch together (issue 17): marked sending in one
transaction, sent concurrently, results written in one transaction; a row that fails does not
fail the others, and a batch interrupted between "sending" and its results is reconciled
without sending anything twice."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from core.channels.adapter import OutgoingMessage, SendResult
from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, MessageStatus, OutboxStatus
from core.errors import StorageError
from core.outbox import worker as worker_module
from core.outbox.ratelimit import RateLimiters
from core.outbox.worker import OutboxWorker
from core.storage import tables as t
from tests.conftest import FakeClock
from tests.factories import add_message, add_prospect
from tests.unit.outbox.conftest import Scene
from tests.unit.outbox.fakes import FakeAdapter, FakeRuntime, invalid_number, server_error

BATCH = 6


def worker(scene: Scene, adapter: FakeAdapter, name: str = "w1") -> OutboxWorker:
    return OutboxWorker(scene.service.ctx, FakeRuntime(adapter), worker_id=name, batch_size=BATCH)


async def queue(scene: Scene, count: int, *, one_recipient: bool = False) -> list[int]:
    """``count`` SMS replies queued, each to a prospect of its own (or all to Marie); their
    message ids."""
    ids = []
    for i in range(count):
        conversation = scene.conversation_id
        if not one_recipient:
            prospect = await add_prospect(scene.service, phone=f"+3361299{i:04d}")
            conversation, _ = await add_message(scene.service, prospect, "Bonjour")
        draft = ReplyDraft(text=f"Message {i}")
        message = await scene.service.outbound.send_reply(conversation, draft, Channel.SMS)
        ids.append(message.id)
    return ids


async def rows(scene: Scene) -> list[t.OutboxRow]:
    async with scene.service.db.session() as session:
        query = select(t.OutboxRow).order_by(t.OutboxRow.id)
        return list((await session.execute(query)).scalars())


class Gathering(FakeAdapter):
    """Answers no send until ``expected`` of them are waiting at once (concurrent sends), then
    all of them; ``hang_after``: that send reaches the provider and its answer never comes."""

    def __init__(self, expected: int, hang_after: int | None = None, **options: Any) -> None:
        super().__init__(Channel.SMS, **options)
        self.expected = expected
        self.hang_after = hang_after
        self.arrived = 0
        self.all_in = asyncio.Event()
        self.hanging = asyncio.Event()

    async def send(self, message: OutgoingMessage) -> SendResult:
        self.arrived += 1
        arrived = self.arrived
        if arrived >= self.expected:
            self.all_in.set()
        await self.all_in.wait()
        result = await super().send(message)
        if arrived == self.hang_after:
            self.hanging.set()
            await asyncio.Event().wait()  # killed while waiting for the provider's answer
        return result


async def test_a_batch_is_sent_concurrently(scene: Scene) -> None:
    """Before: one row after the other, so the first send waited for the others forever."""
    await queue(scene, BATCH)
    sms = Gathering(BATCH)
    await asyncio.wait_for(worker(scene, sms).run_once(), 10)
    assert {row.status for row in await rows(scene)} == {OutboxStatus.SENT}
    assert len(sms.sent) == BATCH


async def test_a_batch_is_marked_sending_and_recorded_in_one_transaction_each(
    scene: Scene,
) -> None:
    """A round commits the claim, "sending" and the results once for the whole batch (and its
    reconciliation and fallback looks); before, "sending" and the result once per row."""
    await queue(scene, BATCH)
    sms = FakeAdapter(Channel.SMS)
    commits = 0

    def count(_conn: Any) -> None:
        nonlocal commits
        commits += 1

    # this process's pace (on PostgreSQL the shared one takes a slot in a statement per send)
    w = OutboxWorker(scene.service.ctx, FakeRuntime(sms), batch_size=BATCH, limiters=RateLimiters())
    engine = scene.service.db.engine.sync_engine
    event.listen(engine, "commit", count)
    try:
        await w.run_once()
    finally:
        event.remove(engine, "commit", count)
    assert len(sms.sent) == BATCH
    assert commits <= 5, commits


async def test_one_failing_row_does_not_fail_the_others(scene: Scene, clock: FakeClock) -> None:
    await queue(scene, BATCH)
    # the third send is refused for good, the fifth fails for now: the others are sent
    script = [None, None, invalid_number(), None, server_error(), None]
    sms = FakeAdapter(Channel.SMS, script)
    await worker(scene, sms).run_once()
    statuses = [row.status for row in await rows(scene)]
    assert statuses.count(OutboxStatus.SENT) == BATCH - 2
    assert statuses.count(OutboxStatus.FAILED) == 1
    assert statuses.count(OutboxStatus.PENDING) == 1  # its retry, 60 s later
    (retry,) = [row for row in await rows(scene) if row.status == OutboxStatus.PENDING]
    assert retry.not_before == clock.now + timedelta(seconds=60) and retry.lease_owner is None


async def test_a_row_whose_result_cannot_be_written_does_not_undo_the_others(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the error ended the round, the batch's other rows left to their leases."""
    message_ids = await queue(scene, BATCH)
    sms = FakeAdapter(Channel.SMS)
    w = worker(scene, sms)
    succeeded = w._succeeded

    async def broken_for_one(session, row, message, result, events):  # type: ignore[no-untyped-def]
        if row.message_id == message_ids[2]:
            raise ValueError("a result this worker cannot write")
        await succeeded(session, row, message, result, events)

    monkeypatch.setattr(w, "_succeeded", broken_for_one)
    await w.run_once()
    statuses = [row.status for row in await rows(scene)]
    # the broken one stays "sending": reconciled once its lease ends, never sent blindly again
    assert statuses == [OutboxStatus.SENT] * 2 + [OutboxStatus.SENDING] + [OutboxStatus.SENT] * 3
    assert len(sms.sent) == BATCH


async def test_results_refused_by_a_locked_database_are_written_again(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: "database is locked" at the results' commit ended the round, and the batch, sent,
    stayed "sending" until its lease ended and each row was looked up at the provider (the
    end-to-end broadcast bench stalled with 100 rows "sending")."""
    await queue(scene, BATCH)
    sms = FakeAdapter(Channel.SMS)
    w = worker(scene, sms)
    finish, refusals = w._finish_batch, 2

    async def locked_at_first(sends: list[Any]) -> None:
        nonlocal refusals
        if refusals:
            refusals -= 1
            raise StorageError("the database is locked by another program: nothing was saved")
        await finish(sends)

    monkeypatch.setattr(w, "_finish_batch", locked_at_first)
    monkeypatch.setattr(worker_module, "RESULT_RETRY_PAUSES", (0.0, 0.0, 0.0))
    await w.run_once()
    assert [row.status for row in await rows(scene)] == [OutboxStatus.SENT] * BATCH
    assert len(sms.sent) == BATCH  # each sent once


async def test_results_the_database_keeps_refusing_fail_the_round_loudly(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the retries the error ends the round (logged by ``run_forever``); the rows stay
    "sending", for the reconciliation once their lease ends, never sent blindly again."""
    await queue(scene, BATCH)
    w = worker(scene, FakeAdapter(Channel.SMS))

    async def locked(sends: list[Any]) -> None:
        raise StorageError("the database is locked by another program: nothing was saved")

    monkeypatch.setattr(w, "_finish_batch", locked)
    monkeypatch.setattr(worker_module, "RESULT_RETRY_PAUSES", (0.0,))
    with pytest.raises(StorageError):
        await w.run_once()
    assert {row.status for row in await rows(scene)} == {OutboxStatus.SENDING}


@pytest.mark.parametrize("listing", [True, False], ids=["provider-list", "no-lookup"])
async def test_a_batch_interrupted_between_sending_and_its_results_is_never_sent_twice(
    scene: Scene, clock: FakeClock, listing: bool
) -> None:
    message_ids = await queue(scene, BATCH)
    dying = Gathering(BATCH, hang_after=BATCH - 1, recent=listing, clock=clock)
    task = asyncio.create_task(worker(scene, dying, "dies").run_once())
    await asyncio.wait_for(dying.hanging.wait(), 10)
    task.cancel()  # killed while one answer is awaited: no result of the batch was written
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert {row.status for row in await rows(scene)} == {OutboxStatus.SENDING}
    assert len(dying.accepted) == BATCH  # every one reached the provider

    # the other worker leaves them to the lease, then asks the provider
    other = FakeAdapter(Channel.SMS, recent=listing, clock=clock)
    other.accepted = dying.accepted  # the same provider
    await worker(scene, other, "w2").drain()
    assert {row.status for row in await rows(scene)} == {OutboxStatus.SENDING}
    clock.advance(seconds=121)
    await worker(scene, other, "w2").drain()

    assert not other.sent  # nothing sent twice
    settled = MessageStatus.SENT if listing else MessageStatus.UNKNOWN
    for message_id in message_ids:
        assert (await scene.service.messages.get(message_id)).status == settled
    if listing:
        outcomes = [[e["outcome"] for e in row.attempts_log] for row in await rows(scene)]
        assert outcomes == [["sent"]] * BATCH


class SlowFirst(FakeAdapter):
    """Answers the earlier messages more slowly than the later ones."""

    async def send(self, message: OutgoingMessage) -> SendResult:
        await asyncio.sleep(0.05 * (BATCH - int(message.text.split()[-1])) / BATCH)
        return await super().send(message)


async def test_a_recipients_messages_are_sent_in_queue_order(scene: Scene) -> None:
    """Concurrent sends are across recipients: one recipient's messages go one after the other
    (before this was kept, the slow first message reached the provider last)."""
    await queue(scene, BATCH, one_recipient=True)
    sms = SlowFirst(Channel.SMS)
    await worker(scene, sms).run_once()
    assert [m.text for m in sms.sent] == [f"Message {i}" for i in range(BATCH)]


class FastGathering(Gathering):
    """``Gathering`` at a provider-scale sender's pace (100/s)."""

    capabilities = dataclasses.replace(Gathering.capabilities, rate_per_second=100.0)


async def test_a_default_round_takes_a_provider_scale_batch_at_once(scene: Scene) -> None:
    """A broadcast goes out in rounds of up to 100 rows (with a round's claim, reconciliation
    and fallback looks, and its two transactions, shared by all of them), sent concurrently
    when the provider's pace allows. Before: 20 rows a round, so the 40 sends never met."""
    await queue(scene, 40)
    fast = FastGathering(40)
    w = OutboxWorker(scene.service.ctx, FakeRuntime(fast), limiters=RateLimiters())
    assert await asyncio.wait_for(w.run_once(), 10) == 40
    assert {row.status for row in await rows(scene)} == {OutboxStatus.SENT}


async def test_a_send_whose_answer_never_comes_does_not_stop_the_worker(scene: Scene) -> None:
    """Before: the round waited for it forever, silently (an adapter whose own timeout failed),
    and with it the whole queue and the reconciliation of the rows left "sending" (this worker's
    own). Now it is an unknown outcome after half the lease, looked up before any resend."""
    await queue(scene, BATCH)
    hanging = Gathering(BATCH, hang_after=BATCH)
    # A lease of 3 s: the round's sends get 1.5 s, room for the answered ones on a loaded machine
    # (on PostgreSQL each first takes a shared rate-limit turn; 0.2 s did not always suffice).
    w = OutboxWorker(
        scene.service.ctx, FakeRuntime(hanging), worker_id="w1", batch_size=BATCH, lease_seconds=3.0
    )
    await asyncio.wait_for(w.run_once(), 20)
    statuses = [row.status for row in await rows(scene)]
    assert sorted(statuses) == [OutboxStatus.PENDING] + [OutboxStatus.SENT] * (BATCH - 1)
    (late,) = [row for row in await rows(scene) if row.status == OutboxStatus.PENDING]
    last = late.attempts_log[-1]
    assert last["outcome"] == "transient" and last["ambiguous"] is True
