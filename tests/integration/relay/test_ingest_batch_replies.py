"""Out of hours, the replies of a batch of inbound messages are queued through the pipeline in
one ``submit`` call, not one per message; nothing about them changes but the number of calls."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core.errors import CoccinelleError
from core.ingest import worker
from core.pipeline import replies
from core.service import InboxService
from core.storage import tables as t
from tests.relay_fakes import body, message
from tests.relay_harness import RunningRelay, running_relay


@pytest.fixture
def submits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many requests each pipeline call of Sara's replies carried."""
    calls: list[int] = []
    submitting = replies.submit

    async def counted(session: Any, requests: Any, **kwargs: Any) -> Any:
        requests = list(requests)
        calls.append(len(requests))
        return await submitting(session, requests, **kwargs)

    monkeypatch.setattr(replies, "submit", counted)
    monkeypatch.setattr(worker, "HOLD_SECONDS", 3600.0)  # one transaction, however slow
    monkeypatch.setattr(worker, "MIN_LOOKAHEAD", 100)
    return calls


async def _store(relay: RunningRelay, events: list[tuple[str, str]]) -> None:
    for key, sender in events:
        code, _, _ = await relay.post("/webhooks/twilio/sms", body(message(key, sender, "Bonsoir")))
        assert code == 200


async def _auto_replies(service: InboxService) -> list[t.OutboxRow]:
    async with service.db.session() as session:
        query = select(t.OutboxRow).where(t.OutboxRow.purpose == "sara").order_by(t.OutboxRow.id)
        return list((await session.execute(query)).scalars())


async def test_a_batch_of_new_senders_out_of_hours_submits_once(
    service: InboxService, clock, submits: list[int]
) -> None:
    """Before: a submit per message (20 calls of one request)."""
    clock.advance(hours=11)  # Tuesday 22:00 in Paris: closed
    async with running_relay(service) as relay:
        await _store(relay, [(f"SMr{i}", f"+336120{i:05d}") for i in range(20)])
        await relay.worker.run_once()
        stored = await relay.stored()
    assert submits == [20]
    assert {e.status for e in stored} == {"processed"}
    sent = await _auto_replies(service)
    assert [o.idempotency_key for o in sent] == [f"sara:{e.id}:auto_reply" for e in stored]


async def test_a_sender_writing_again_has_the_reply_before_the_next_message(
    service: InboxService, clock, submits: list[int]
) -> None:
    """The replies waiting are queued before the same sender's next message is applied: the
    thread reads message, reply, message, as when each was queued at once."""
    clock.advance(hours=11)
    async with running_relay(service) as relay:
        senders = ["+33612000001", "+33612000002", "+33612000001", "+33612000003"]
        await _store(relay, [(f"SMa{i}", s) for i, s in enumerate(senders)])
        await relay.worker.run_once()
    assert submits == [2, 1]
    async with service.db.session() as session:
        first = select(t.ProspectRow.id).where(t.ProspectRow.phone == "+33612000001")
        query = (
            select(t.MessageRow.direction, t.MessageRow.content)
            .where(t.MessageRow.prospect_id == first.scalar_subquery())
            .order_by(t.MessageRow.id)
        )
        thread = [str(d) for d, _ in (await session.execute(query)).all()]
    assert thread == ["inbound", "outbound", "inbound"]


async def test_a_reply_that_cannot_be_queued_fails_its_event_alone(
    service: InboxService, clock, submits: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch's call fails: the transaction is rolled back and its events applied again,
    each submitting its reply at once, so that only the one whose reply fails is marked."""
    clock.advance(hours=11)
    submitting = replies.submit

    async def refuses_one(session: Any, requests: Any, **kwargs: Any) -> Any:
        requests = list(requests)
        async with session.begin_nested():
            prospects = [await session.get(t.ProspectRow, r.prospect_id) for r in requests]
        if any(p.phone == "+33612000002" for p in prospects):
            raise CoccinelleError("this reply cannot be queued")
        return await submitting(session, requests, **kwargs)

    monkeypatch.setattr(replies, "submit", refuses_one)
    async with running_relay(service) as relay:
        senders = ["+33612000001", "+33612000002", "+33612000003"]
        await _store(relay, [(f"SMf{i}", s) for i, s in enumerate(senders)])
        await relay.worker.run_once()
        stored = await relay.stored()
    assert [(e.status, bool(e.error)) for e in stored] == [
        ("processed", False),
        ("pending", True),  # its next attempt, later
        ("processed", False),
    ]
    sent = await _auto_replies(service)
    assert [o.idempotency_key for o in sent] == [
        f"sara:{stored[0].id}:auto_reply",
        f"sara:{stored[2].id}:auto_reply",
    ]
    async with service.db.session() as session:
        texts = (await session.execute(select(t.MessageRow.provider_message_id))).scalars()
        assert sorted(filter(None, texts)) == ["SMf0", "SMf2"]


async def _reads(service: InboxService, relay: RunningRelay, start: int, n: int) -> int:
    from tests.integration.relay.test_ingest_batch_statements import Counter

    await _store(relay, [(f"SMq{i}", f"+336121{i:05d}") for i in range(start, start + n)])
    with Counter(service) as counter:
        await relay.worker.run_once()
    return len([s for s in counter.statements if s.lstrip().upper().startswith("SELECT")])


async def test_out_of_hours_replies_of_a_batch_read_a_bounded_number_of_times(
    service: InboxService, clock, submits: list[int]
) -> None:
    """The automation policy's reads (earlier answers, pauses, the last hour's messages) are
    done once for the batch's replies. Before: four queries per reply."""
    clock.advance(hours=11)
    async with running_relay(service) as relay:
        few = await _reads(service, relay, 0, 3)
        many = await _reads(service, relay, 3, 20)
    assert submits == [3, 20]
    assert many == few, (few, many)
    assert len(await _auto_replies(service)) == 23


async def test_out_of_hours_replies_of_a_batch_are_written_set_based(
    service: InboxService, clock, submits: list[int]
) -> None:
    """The replies' messages and outbox rows are inserted with one statement per table, in the
    batch's write transaction (they were flushed one reply at a time: four statements each,
    while SQLite's write lock was held)."""
    from tests.integration.relay.test_ingest_batch_statements import Counter

    clock.advance(hours=11)
    async with running_relay(service) as relay:
        await _store(relay, [(f"SMs{i}", f"+336122{i:05d}") for i in range(20)])
        with Counter(service) as counter:
            await relay.worker.run_once()
    assert submits == [20]
    outbox = [s for s in counter.statements if s.lstrip().upper().startswith("INSERT INTO OUTBOX")]
    assert len(outbox) == 1, len(outbox)
    replies_ = await _auto_replies(service)
    assert len(replies_) == 20 and all(o.message_id is not None for o in replies_)
