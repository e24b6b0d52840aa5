"""The outbox against the provider sandbox (real SDKs over HTTP), with injected failures:
invalid number (21211), unsubscribed (21610), 429 with Retry-After, 5xx, timeout."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.channels.adapter import AdapterConfig
from core.config.settings import OrchestratorSettings
from core.domain.decision import ReplyDraft
from core.domain.enums import (
    OUTBOX_TERMINAL,
    Channel,
    MessageStatus,
    MessageType,
    OutboxStatus,
    Urgency,
)
from core.errors import InvalidInput
from core.outbox.worker import OutboxWorker
from core.storage import tables as t
from tests.conftest import FakeClock
from tests.unit.orchestrator.helpers import context
from tests.unit.outbox.conftest import EMAIL, PHONE, Scene
from tests.unit.outbox.fakes import FakeRuntime

sandbox_module = pytest.importorskip("providers.sandbox", reason="provider adapters not merged")


@pytest.fixture
async def sandbox() -> AsyncIterator[object]:
    box = await sandbox_module.start_sandbox(None)
    box.hang_seconds = 3.0
    box.runtimes = []
    try:
        yield box
    finally:
        for runtime in box.runtimes:
            for adapter in runtime.adapters.values():
                await adapter.close()
        await box.stop()


def runtime_for(box) -> FakeRuntime:
    """Twilio SMS and SendGrid adapters pointed at the sandbox (closed with it)."""
    from providers.sendgrid.adapter import SendGridAdapter
    from providers.twilio.sms import TwilioSmsAdapter

    def config(provider: str, name: str) -> AdapterConfig:
        return AdapterConfig(
            base_url=box.base_urls[provider],
            credentials=box.credentials[provider],
            options=box.options[name],
            timeout=1.0,
        )

    runtime = FakeRuntime()
    runtime.adapters = {
        Channel.SMS: TwilioSmsAdapter(config("twilio", "twilio_sms")),
        Channel.EMAIL: SendGridAdapter(config("sendgrid", "sendgrid")),
    }
    box.runtimes.append(runtime)
    return runtime


async def rows(scene: Scene) -> list[t.OutboxRow]:
    async with scene.service.db.session() as session:
        return list((await session.execute(select(t.OutboxRow).order_by(t.OutboxRow.id))).scalars())


def sms_posts(box) -> list:
    return [r for r in box.requests("twilio", "Messages") if r.method == "POST"]


async def test_seed_example_4_invalid_number_falls_back_to_email(scene: Scene, sandbox) -> None:
    sandbox.inject("twilio", "invalid_number", to=PHONE)
    outbound = scene.service.outbound
    outbound.attach_runtime(runtime_for(sandbox))
    ctx = context(
        now=scene.service.ctx.now(),
        prospect_id=scene.prospect_id,
        contacts={Channel.SMS: PHONE, Channel.EMAIL: EMAIL},
        urgency=Urgency.URGENT,
        message_type=MessageType.NOTIFICATION,
    )
    result = await outbound.route_message(ctx, ReplyDraft(text="Votre RDV est avancé à 14h."))
    assert (result.success, result.channel, result.status) == (True, Channel.SMS, "sent")
    assert result.fallback_attempted and result.fallback_channel == Channel.EMAIL
    message = await scene.service.messages.get(result.message_id)
    assert message.metadata["attempts"][0]["code"] == "21211"
    assert len(sandbox.requests("sendgrid", "mail/send")) == 1


async def test_unsubscribed_21610_falls_back(scene: Scene, sandbox) -> None:
    sandbox.inject("twilio", "unsubscribed")
    message = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    await OutboxWorker(scene.service.ctx, runtime_for(sandbox)).drain()
    final = await scene.service.messages.get(message.id)
    assert final.status == MessageStatus.SENT and final.channel == Channel.EMAIL
    assert final.metadata["attempts"][0]["code"] == "21610"


async def test_5xx_retried_at_the_configured_delays_then_fallback(
    scene: Scene, sandbox, clock: FakeClock
) -> None:
    sandbox.inject("twilio", "server_error", times=4)
    worker = OutboxWorker(scene.service.ctx, runtime_for(sandbox))
    message = await scene.service.outbound.send_reply(
        scene.conversation_id, ReplyDraft(text="Bonjour"), Channel.SMS
    )
    await worker.run_once()
    for delay in (60, 300, 900):
        (row,) = await rows(scene)
        assert row.not_before == clock.now + timedelta(seconds=delay)
        clock.advance(seconds=delay)
        await worker.run_once()
    await worker.drain()
    assert len(sms_posts(sandbox)) == 4
    final = await scene.service.messages.get(message.id)
    assert final.status == MessageStatus.SENT and final.channel == Channel.EMAIL
    assert all(OutboxStatus(r.status) in OUTBOX_TERMINAL for r in await rows(scene))


async def test_429_retry_after_is_honoured(scene: Scene, sandbox, clock: FakeClock) -> None:
    sandbox.inject("twilio", "rate_limit")
    settings = OrchestratorSettings(retry_delays=[1])
    worker = OutboxWorker(scene.service.ctx, runtime_for(sandbox), settings)
    message = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    await worker.run_once()
    (row,) = await rows(scene)
    assert row.not_before == clock.now + timedelta(seconds=2)  # Retry-After: 2 > the 1 s set
    clock.advance(seconds=2)
    await worker.run_once()
    sent = await scene.service.messages.get(message.id)
    assert sent.status == MessageStatus.SENT and sent.provider_message_id.startswith("SM")


async def test_timeout_is_retried_and_ends_terminal(
    scene: Scene, sandbox, clock: FakeClock
) -> None:
    sandbox.inject("twilio", "timeout")
    worker = OutboxWorker(scene.service.ctx, runtime_for(sandbox))
    message = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    await worker.run_once()
    (row,) = await rows(scene)
    assert row.status == OutboxStatus.PENDING and row.attempts_log[-1]["ambiguous"] is True
    clock.advance(seconds=60)
    await worker.drain()
    assert (await scene.service.messages.get(message.id)).status == MessageStatus.SENT


async def test_a_timed_out_send_twilio_took_is_found_in_its_list_never_sent_again(
    scene: Scene, sandbox, clock: FakeClock
) -> None:
    """Twilio took the message but its answer came after the adapter's timeout: before the
    retry, its message list shows it (Twilio's lookup knows SIDs only). Before, the retry sent
    it a second time (the chaos test's double auto reply)."""
    sandbox.inject("twilio", "timeout")  # answers after its hang, the message created then
    worker = OutboxWorker(scene.service.ctx, runtime_for(sandbox))
    message = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    await worker.run_once()
    (row,) = await rows(scene)
    assert row.status == OutboxStatus.PENDING and row.attempts_log[-1]["ambiguous"] is True
    for _ in range(200):  # the sandbox finishes the send it was hanging on
        if sandbox.twilio.messages:
            break
        await asyncio.sleep(0.05)
    (taken,) = sandbox.twilio.messages
    clock.advance(seconds=60)
    await worker.drain()
    sent = await scene.service.messages.get(message.id)
    assert sent.status in (MessageStatus.SENT, MessageStatus.DELIVERED)
    assert sent.provider_message_id == taken
    assert len(sms_posts(sandbox)) == 1  # never twice


async def _crash(scene: Scene, clock: FakeClock) -> None:
    async with scene.service.db.session() as session:
        await session.execute(
            update(t.OutboxRow).values(
                status=OutboxStatus.SENDING,
                lease_owner="dead",
                lease_expires_at=clock.now + timedelta(seconds=120),
                attempts=1,
            )
        )
    clock.advance(seconds=121)


async def test_interrupted_send_twilio_never_got_is_sent_once(
    scene: Scene, sandbox, clock: FakeClock
) -> None:
    runtime = runtime_for(sandbox)
    message = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    await _crash(scene, clock)
    await OutboxWorker(scene.service.ctx, runtime).drain()
    # Twilio's message list for the number is empty: proof it was not sent, so it is sent now.
    assert (await scene.service.messages.get(message.id)).status == MessageStatus.SENT
    assert len(sms_posts(sandbox)) == 1


async def test_interrupted_send_twilio_got_is_never_sent_again(
    scene: Scene, sandbox, clock: FakeClock
) -> None:
    from core.outbox.payload import outgoing
    from core.outbox.worker import reference_of

    runtime = runtime_for(sandbox)
    message = await scene.service.outbound.send_reply(scene.conversation_id, ReplyDraft(text="x"))
    (row,) = await rows(scene)
    await runtime.adapters[Channel.SMS].send(outgoing(row.payload, Channel.SMS, reference_of(row)))
    await _crash(scene, clock)
    await OutboxWorker(scene.service.ctx, runtime).drain()
    final = await scene.service.messages.get(message.id)
    # found in Twilio's message list (same text, after the send started): sent, not unknown
    assert final.status in (MessageStatus.SENT, MessageStatus.DELIVERED)
    assert len(sms_posts(sandbox)) == 1  # never twice


async def test_stop_then_send_is_refused_21610_and_the_thread_shows_it(
    scene: Scene, sandbox
) -> None:
    """The prospect texts STOP (the provider keeps it, as Twilio does): the next SMS is refused
    with 21610, and the thread shows that attempt (START: see the provider tests)."""
    sandbox.twilio.enqueue_inbound(PHONE, sandbox.twilio.sms_number, "STOP")
    runtime = runtime_for(sandbox)
    message = await scene.service.outbound.send_reply(
        scene.conversation_id, ReplyDraft(text="Votre visite ?"), Channel.SMS
    )
    await OutboxWorker(scene.service.ctx, runtime).drain()
    thread = await scene.service.conversations.thread(scene.conversation_id)
    (shown,) = [m for m in thread.messages if m.id == message.id]
    assert shown.metadata["attempts"][0]["code"] == "21610"
    assert shown.channel != Channel.SMS or shown.status == MessageStatus.FAILED
    # the app now knows the number refuses SMS: it offers no SMS any more
    with pytest.raises(InvalidInput):
        await scene.service.outbound.send_reply(
            scene.conversation_id, ReplyDraft(text="Re-bonjour"), Channel.SMS
        )
