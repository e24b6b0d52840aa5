"""A transaction builds the rows of the batch's new inbound messages before it takes the write
lock (``core.ingest.grouped.prepare_inbound``), then may end after any group (the relay's
writer waits). What was prepared for events it did not apply must leave nothing behind: each
message is stored once, in its sender's thread, each new sender is one prospect, and the
later transactions apply the rest exactly once, in order."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from core.ingest import grouped, worker
from core.service import InboxService
from core.storage import tables as t
from tests.relay_fakes import body, message
from tests.relay_harness import running_relay

#: Ten new senders; the first two write again later in the batch (a second group).
SENDERS = [f"+3361300000{i}" for i in range(10)]
AGAIN = SENDERS[:2]


@pytest.fixture
def groups(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """The stored event ids of each group applied, in order."""
    applied: list[list[int]] = []
    applying = grouped.apply_group

    async def counted(session: Any, items: list[grouped.Prepared]) -> None:
        applied.append([item.step.event_id for item in items])
        await applying(session, items)

    monkeypatch.setattr(worker, "apply_group", counted)
    monkeypatch.setattr(worker, "MIN_LOOKAHEAD", 100)  # every event prepared by the first one
    return applied


async def test_events_prepared_but_left_for_a_later_transaction_are_applied_once(
    service: InboxService, groups: list[list[int]]
) -> None:
    async with running_relay(service) as relay:
        texts = [(f"SMq{i}", s, f"first {i}") for i, s in enumerate(SENDERS)]
        texts += [(f"SMr{i}", s, f"again {i}") for i, s in enumerate(AGAIN)]
        for sid, sender, text in texts:
            code, _, _ = await relay.post("/webhooks/twilio/sms", body(message(sid, sender, text)))
            assert code == 200
        # the relay's writer is waiting all along: each transaction ends after one group
        service.db.gate.wanted_elsewhere = True
        await relay.worker.run_once()
        stored = await relay.stored()
    assert [e.status for e in stored] == ["processed"] * len(texts)
    assert len(groups) >= 2  # several transactions: the first applied part of what it prepared
    applied = [event_id for group in groups for event_id in group]
    assert applied == sorted(applied) and len(set(applied)) == len(applied)
    async with service.db.session() as session:
        prospects = (await session.execute(select(func.count(t.ProspectRow.id)))).scalar()
        rows = select(t.ProspectRow.phone, t.MessageRow.provider_message_id, t.MessageRow.content)
        rows = rows.join(t.ProspectRow, t.ProspectRow.id == t.MessageRow.prospect_id)
        rows = rows.where(t.MessageRow.provider_message_id.is_not(None))
        found = sorted(tuple(r) for r in (await session.execute(rows)).all())
        counts = select(t.ProspectRow.phone, t.ConversationRow.message_count).join(
            t.ProspectRow, t.ProspectRow.id == t.ConversationRow.prospect_id
        )
        threads = {phone: n for phone, n in (await session.execute(counts)).all()}
    assert prospects == len(SENDERS)
    assert found == sorted((sender, sid, text) for sid, sender, text in texts)
    assert threads == {s: 2 if s in AGAIN else 1 for s in SENDERS}
