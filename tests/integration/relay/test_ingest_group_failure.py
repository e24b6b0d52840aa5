"""New inbound messages from different senders are applied as one group (one claim, one
savepoint, set-based inserts); one poisoned event in the group does not fail the others: the
group is rolled back and its events applied one by one, the bad one marked with its reason and
retried later, the others applied once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from core.errors import CoccinelleError
from core.ingest import apply, grouped, worker
from core.intents.sara import handle_inbound
from core.service import InboxService
from core.storage import tables as t
from tests.relay_fakes import body, message
from tests.relay_harness import RunningRelay, running_relay

SENDERS = [f"+3361200000{i}" for i in range(1, 6)]
POISON = "+33612000003"


@pytest.fixture
def groups(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the groups applied; the poisoned sender's message fails in Sara's rules."""
    sizes: list[int] = []
    applying = grouped.apply_group

    async def counted(session: Any, pairs: Any) -> None:
        sizes.append(len(pairs))
        await applying(session, pairs)

    def poisoned(answer: Any) -> Any:
        async def handle(step: Any, prospect: Any, *args: Any, **kwargs: Any) -> Any:
            if prospect.phone == POISON:
                raise CoccinelleError("poisoned event")
            return await answer(step, prospect, *args, **kwargs)

        return handle

    monkeypatch.setattr(worker, "apply_group", counted)
    monkeypatch.setattr(grouped, "handle_inbound", poisoned(grouped.handle_inbound))
    monkeypatch.setattr(apply, "handle_inbound", poisoned(apply.handle_inbound))
    monkeypatch.setattr(worker, "HOLD_SECONDS", 3600.0)  # one transaction, however slow
    monkeypatch.setattr(worker, "MIN_LOOKAHEAD", 100)
    return sizes


async def _store(relay: RunningRelay) -> None:
    for i, sender in enumerate(SENDERS):
        code, _, _ = await relay.post(
            "/webhooks/twilio/sms", body(message(f"SMp{i}", sender, "Bonjour"))
        )
        assert code == 200


async def _threads(service: InboxService) -> dict[str, tuple[int, int, list[str]]]:
    """Per sender: the conversation's message count and unread count, and its messages."""
    async with service.db.session() as session:
        found: dict[str, tuple[int, int, list[str]]] = {}
        conversations = select(t.ConversationRow, t.ProspectRow.phone).join(
            t.ProspectRow, t.ProspectRow.id == t.ConversationRow.prospect_id
        )
        for conversation, phone in (await session.execute(conversations)).all():
            ids = select(t.MessageRow.provider_message_id).where(
                t.MessageRow.conversation_id == conversation.id
            )
            messages = list((await session.execute(ids)).scalars())
            found[phone] = (conversation.message_count, conversation.unread_count, messages)
    return found


async def test_one_poisoned_event_fails_alone_and_the_others_of_its_group_apply(
    service: InboxService, clock, groups: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_relay(service) as relay:
        await _store(relay)
        await relay.worker.run_once()
        stored = await relay.stored()
        assert groups == [5]  # the poisoned event was in the group
        assert [(e.status, e.error) for e in stored] == [
            ("processed", None),
            ("processed", None),
            ("pending", "poisoned event"),  # its next attempt, later
            ("processed", None),
            ("processed", None),
        ]
        assert stored[2].attempts == 1 and stored[2].next_attempt_at is not None
        threads = await _threads(service)
        good = [s for s in SENDERS if s != POISON]
        assert threads == {s: (1, 1, [f"SMp{SENDERS.index(s)}"]) for s in good}

        # the cause goes away: the next attempt applies it, the others are not applied again
        monkeypatch.setattr(apply, "handle_inbound", handle_inbound)
        clock.advance(hours=1)
        await relay.worker.run_once()
        stored = await relay.stored()
    assert [e.status for e in stored] == ["processed"] * 5
    threads = await _threads(service)
    assert threads == {s: (1, 1, [f"SMp{i}"]) for i, s in enumerate(SENDERS)}
