"""An event that fails to apply is retried with backoff, then parked, shown and retried by hand.

Nothing is dropped: the event waits with its reason, ``InboundEvents`` (and ``coccinelle events``)
list and show it, and a retry once the cause is fixed applies it.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.config.settings import load_settings
from core.domain.enums import Channel
from core.ingest.retry import RETRY_DELAYS
from core.service import InboxService
from core.storage import tables as t
from core.storage.database import sqlite_url
from inbox_app.cli import main
from tests.conftest import FakeClock
from tests.relay_fakes import FakeAdapter, body, message
from tests.relay_harness import running_relay


async def test_a_failing_event_is_retried_then_parked_then_applied_on_retry(
    service: InboxService, clock: FakeClock
) -> None:
    async with running_relay(service) as relay:
        code, _, _ = await relay.post(
            "/webhooks/sendgrid/inbound", body(message("e1", "marie@example.fr", "Bonjour"))
        )
        assert code == 200
        email: FakeAdapter = relay.adapters.by_channel.pop(Channel.EMAIL)  # set-up lost
        for attempt, delay in enumerate(RETRY_DELAYS, start=1):
            await relay.worker.run_once()
            [event] = await relay.stored()
            assert (event.status, event.attempts) == ("pending", attempt)
            assert event.next_attempt_at == clock.now + delay
            assert "no email adapter" in event.error
            assert await relay.worker.run_once() == 0  # not due yet: left alone
            clock.advance(seconds=delay.total_seconds())
        await relay.worker.run_once()
        [event] = await relay.stored()
        assert (event.status, event.attempts) == ("parked", len(RETRY_DELAYS) + 1)
        clock.advance(days=1)
        assert await relay.worker.run_once() == 0  # parked: waits for an operator

        events = service.inbound_events
        assert await events.count_parked() == 1
        [parked] = await events.parked()
        assert parked.id == event.id and parked.channel == "email"
        assert "no email adapter" in parked.error
        detail = await events.show(event.id)
        assert "Bonjour" in detail.body_preview and "x-fake-signature" not in detail.headers
        assert await relay.count(t.MessageRow) == 0

        relay.adapters.by_channel[Channel.EMAIL] = email  # the cause is fixed
        assert await events.retry([event.id]) == 1
        await relay.worker.run_once()
    [event] = await relay.stored()
    assert (event.status, event.error) == ("processed", None)
    assert await events.count_parked() == 0
    [row] = await _messages(service)
    assert row.content == "Bonjour"


async def test_input_that_can_never_apply_is_parked_at_once(service: InboxService) -> None:
    async with running_relay(service) as relay:
        await relay.post("/webhooks/twilio/sms", body(message("SM1", "not a number", "x")))
        await relay.worker.run_once()
        [event] = await relay.stored()
    assert event.status == "parked" and "phone" in event.error and event.attempts == 1


async def _messages(service: InboxService) -> list[t.MessageRow]:
    from sqlalchemy import select

    async with service.db.session() as session:
        return list((await session.execute(select(t.MessageRow))).scalars())


def test_events_commands_list_show_and_retry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_url(tmp_path / "inbox.db")

    async def park_one() -> int:
        service = await InboxService.open(load_settings(database_url=url))
        try:
            async with service.db.session() as session:
                row = t.InboundEventRow(
                    tenant_id=service.ctx.tenant_id,
                    provider="twilio",
                    endpoint="twilio/sms",
                    dedupe_key="SM1",
                    headers={"channel": "sms"},
                    body=b"Body=Bonjour\x1b[31m&From=%2B33612345678",
                    status="parked",
                    attempts=5,
                    error="no sms adapter is configured to read this event",
                )
                session.add(row)
                await session.flush()
                return row.id
        finally:
            await service.close()

    event_id = asyncio.run(park_one())
    base = ["--language", "en", "--database-url", url, "events"]
    assert main([*base, "failed"]) == 1
    out = capsys.readouterr().out
    assert "1 event could not be applied" in out
    assert f"#{event_id}" in out and "no sms adapter" in out
    assert main([*base, "show", str(event_id)]) == 0
    out = capsys.readouterr().out
    assert "Body=Bonjour" in out and "\x1b" not in out  # a stranger's bytes made inert
    assert main([*base, "retry"]) == 2
    capsys.readouterr()
    assert main([*base, "retry", str(event_id)]) == 0
    assert "1 event put back" in capsys.readouterr().out
    assert main([*base, "failed"]) == 0
    assert "Every provider event has been applied." in capsys.readouterr().out
    assert main([*base, "show", "9999"]) == 2
    assert "does not exist" in capsys.readouterr().err
