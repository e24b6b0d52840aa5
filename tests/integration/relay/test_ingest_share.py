"""Ingest's turn at SQLite's write lock while the relay answers webhooks: a transaction applies
events for a whole slice even when the relay's writer waits (so ingest keeps up under load),
and no longer than the slice (so a webhook's 2xx waits for ingest a bounded time)."""

from __future__ import annotations

import pytest

from core.storage.inbound_step import IngestStep
from core.service import InboxService
from core.storage.gate import WriteGate
from tests.relay_fakes import body, message
from tests.relay_harness import running_relay


class SteppingClock:
    """A clock that moves ``step`` seconds each time it is read (an event's cost)."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


async def test_while_the_relay_waits_ingest_applies_a_slice_per_transaction(
    service: InboxService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(WriteGate, "wanted", property(lambda _gate: True))  # always waiting
    async with running_relay(service) as relay:
        for i in range(6):
            sender = f"+3361200000{i}"
            code, _, _ = await relay.post("/webhooks/twilio/sms", body(message(f"SMS{i}", sender, "Bonjour")))
            assert code == 200
        # each applied event reads 3 ms: three events fill the 8 ms slice
        relay.worker.clock = SteppingClock(0.003)
        transactions: list[int] = []
        after_commit = relay.worker._after_commit

        async def counted(steps: list[IngestStep]) -> None:
            transactions.append(len(steps))
            await after_commit(steps)

        monkeypatch.setattr(relay.worker, "_after_commit", counted)
        await relay.worker.run_once()
        statuses = {e.status for e in await relay.stored()}
    assert statuses == {"processed"}
    assert transactions == [3, 3]  # not one event per transaction, nor all six at once
