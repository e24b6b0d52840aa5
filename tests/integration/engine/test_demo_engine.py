"""The demo running end to end in one process: sandbox, relay, ingest, outbox, Sara.

A reply queued by the agent is sent by the outbox worker through the real adapter to the sandbox,
whose delivery webhooks come back signed through the relay and move the message's status; the
simulated prospect answers "OUI", which lands in the same conversation.
"""

from __future__ import annotations

import asyncio

from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, Direction, MessageStatus


async def wait_for(predicate, timeout: float = 30.0):
    """Poll ``predicate`` (async) until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await predicate()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.2)


async def test_a_reply_is_sent_delivered_and_answered(demo) -> None:
    service, engine = demo
    assert engine.status.sandbox and engine.status.relay_url.startswith("http://127.0.0.1:")
    camille = await service.prospects.find(Channel.SMS, "+33612000001")
    assert camille is not None, "the sandbox's personas are demo prospects"
    message = await service.outbound.send_unified(
        camille.id,
        ReplyDraft(text="Bonjour Camille, votre visite jeudi 15h vous convient ?"),
        preferred_channel=Channel.SMS,
    )
    conversation_id = None

    async def delivered():
        nonlocal conversation_id
        found = await service.messages.get(message.message_id)
        conversation_id = found.conversation_id
        return found.status in (MessageStatus.DELIVERED, MessageStatus.READ) and found

    sent = await wait_for(delivered)
    assert sent.provider_message_id and sent.channel == Channel.SMS

    async def answered():
        thread = await service.conversations.thread(conversation_id)
        inbound = [m for m in thread.messages if m.direction == Direction.INBOUND]
        return [m for m in inbound if m.content == "OUI"]

    assert await wait_for(answered)
    received = [r for r in engine.sandbox.received if r.provider == "twilio" and r.method == "POST"]
    assert any("Bonjour Camille" in str(r.body) for r in received)


async def test_a_failed_number_falls_back_and_is_reported(demo) -> None:
    service, engine = demo
    engine.sandbox.inject("twilio", "invalid_number", to="+33612000003")
    lea = await service.prospects.find(Channel.SMS, "+33612000003")
    result = await service.outbound.send_unified(
        lea.id, ReplyDraft(text="Votre dossier est prêt."), preferred_channel=Channel.SMS
    )

    async def settled():
        found = await service.messages.get(result.message_id)
        done = (MessageStatus.DELIVERED, MessageStatus.READ, MessageStatus.SENT)
        return found.status in done and found

    final = await wait_for(settled)
    assert final.channel != Channel.SMS
    assert final.metadata.get("fallback_attempted")
