"""Ingest applies a batch of stored events with a bounded number of SQL statements: the
batch's senders, conversations and known provider ids are read set-based, not per event."""

from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from core.domain.enums import Provider
from core.errors import CoccinelleError
from core.ingest import worker
from core.service import InboxService
from core.storage import tables as t
from tests.factories import add_prospect
from tests.integration.relay.test_ingest_flows import sent_message
from tests.relay_fakes import body, message, status
from tests.relay_harness import running_relay


class Counter:
    def __init__(self, service: InboxService) -> None:
        self.engine = service.db.engine.sync_engine
        self.statements: list[str] = []

    def _count(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.statements.append(statement)

    def __enter__(self) -> Counter:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


async def _statements_for(service: InboxService, relay, start: int, n: int) -> tuple[int, int]:
    events = [message(f"SMB{start + i}", f"+336120{start + i:05d}", "Bonjour") for i in range(n)]
    code, _, _ = await relay.post("/webhooks/twilio/sms", body(*events))
    assert code == 200
    with Counter(service) as counter:
        await relay.worker.run_once()
    async with service.db.session() as session:
        stored = select(func.count()).select_from(t.MessageRow)
        assert await session.scalar(stored) == start + n
    reads = [s for s in counter.statements if s.lstrip().upper().startswith("SELECT")]
    return len(reads), len(counter.statements)


async def test_a_batch_of_new_senders_costs_a_bounded_number_of_statements(
    service: InboxService,
) -> None:
    """Applying 40 messages from 40 new senders reads as much as applying 4 does; what grows
    is the writes (a prospect, a conversation, a message, the conversation's summary each)."""
    async with running_relay(service) as relay:
        few_reads, few = await _statements_for(service, relay, 0, 4)
        many_reads, many = await _statements_for(service, relay, 4, 40)
    assert many_reads == few_reads, (few_reads, many_reads)
    assert many - few <= 4 * 36, (few, many)


async def test_a_batch_finds_what_its_earlier_events_created_even_after_one_failed(
    service: InboxService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One webhook per event, applied in one transaction: a sender's second message joins the
    prospect and conversation their first created, also after an event between them failed."""
    monkeypatch.setattr(worker, "HOLD_SECONDS", 3600.0)  # one transaction, however slow
    async with running_relay(service) as relay:
        senders = ["+33612000001", "+33612000002", "+33612000002", "not a phone", "+33612000001"]
        for i, sender in enumerate(senders):
            code, _, _ = await relay.post(
                "/webhooks/twilio/sms", body(message(f"SMA{i}", sender, "Hi"))
            )
            assert code == 200
        await relay.worker.run_once()
        statuses = [(e.status, bool(e.error)) for e in await relay.stored()]
    assert statuses == [("processed", False)] * 3 + [("parked", True), ("processed", False)]
    async with service.db.session() as session:
        prospects = (await session.execute(select(t.ProspectRow.phone))).scalars().all()
        conversations = await session.scalar(select(func.count()).select_from(t.ConversationRow))
        texts = await session.scalar(select(func.count()).select_from(t.MessageRow))
    assert sorted(prospects) == ["+33612000001", "+33612000002"]
    assert (conversations, texts) == (2, 4)


async def _sendgrid_reads(service: InboxService, relay, start: int, n: int) -> int:
    """Reads to apply a "delivered" and an "open" for each of ``n`` emails we sent, all in one
    SendGrid webhook (event ids extend the stored ids, as SendGrid's do)."""
    events = []
    for i in range(start, start + n):
        prospect = await add_prospect(service, phone=f"+3361230{i:04d}", email=f"p{i}@example.fr")
        await sent_message(service, prospect, f"sgid{i:04d}", Provider.SENDGRID)
        event_id = f"sgid{i:04d}.filter0001.16648.5515E0B88.0"
        events.append(status(event_id, "delivered", prefix=True))
        events.append(
            {
                "type": "engagement",
                "key": f"open{i}",
                "id": event_id,
                "kind": "open",
                "prefix": True,
            }
        )
    code, _, _ = await relay.post("/webhooks/sendgrid/events", body(*events))
    assert code == 200
    with Counter(service) as counter:
        await relay.worker.run_once()
    async with service.db.session() as session:
        read = select(func.count()).select_from(t.MessageRow).where(t.MessageRow.status == "read")
        assert await session.scalar(read) == start + n
    return len([s for s in counter.statements if s.lstrip().upper().startswith("SELECT")])


async def test_sendgrid_statuses_are_found_among_the_batch_lookups(
    service: InboxService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: each event looked its message up twice (its full id, then the id it extends)."""
    monkeypatch.setattr(worker, "HOLD_SECONDS", 3600.0)  # one transaction, however slow
    async with running_relay(service) as relay:
        few = await _sendgrid_reads(service, relay, 0, 2)
        many = await _sendgrid_reads(service, relay, 2, 20)
    assert many == few, (few, many)


async def test_a_batch_of_statuses_is_claimed_and_written_together(
    service: InboxService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: a claim, a savepoint and a flush per stored event (one webhook per status)."""
    monkeypatch.setattr(worker, "HOLD_SECONDS", 3600.0)  # one transaction, however slow
    monkeypatch.setattr(worker, "MIN_LOOKAHEAD", 100)

    async def statements(start: int, n: int) -> int:
        for i in range(start, start + n):
            prospect = await add_prospect(service, phone=f"+3361230{i:04d}")
            await sent_message(service, prospect, f"SMst{i:04d}")
            code, _, _ = await relay.post(
                "/webhooks/twilio/status", body(status(f"SMst{i:04d}", "delivered"))
            )
            assert code == 200
        with Counter(service) as counter:
            await relay.worker.run_once()
        return len(counter.statements)

    async with running_relay(service) as relay:
        few = await statements(0, 3)
        many = await statements(3, 30)
        stored = await relay.stored()
    assert {event.status for event in stored} == {"processed"}
    async with service.db.session() as session:
        delivered = select(func.count()).where(t.MessageRow.status == "delivered")
        assert await session.scalar(delivered) == 33
    assert many - few <= 3, (few, many)


async def test_a_failing_status_in_a_batch_is_retried_alone(
    service: InboxService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "HOLD_SECONDS", 3600.0)
    applying = worker.apply_event

    async def fails_for_one(step, event):  # type: ignore[no-untyped-def]
        if event.provider_message_id == "SMbad":
            raise CoccinelleError("this status cannot be applied")
        await applying(step, event)

    monkeypatch.setattr(worker, "apply_event", fails_for_one)
    async with running_relay(service) as relay:
        for pmid in ("SMok1", "SMbad", "SMok2"):
            prospect = await add_prospect(service, phone=f"+33612{abs(hash(pmid)) % 10**6:06d}")
            await sent_message(service, prospect, pmid)
            code, _, _ = await relay.post("/webhooks/twilio/status", body(status(pmid, "read")))
            assert code == 200
        await relay.worker.run_once()
        stored = await relay.stored()
    assert [(e.status, bool(e.error)) for e in stored] == [
        ("processed", False),
        ("pending", True),  # its next attempt, later
        ("processed", False),
    ]
    async with service.db.session() as session:
        rows = await session.execute(select(t.MessageRow.provider_message_id, t.MessageRow.status))
        assert dict(rows.all()) == {"SMok1": "read", "SMbad": "sent", "SMok2": "read"}
