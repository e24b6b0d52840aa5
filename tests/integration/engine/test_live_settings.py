"""Settings take effect in the running engine, without a restart (issue 19 item 8).

A channel turned off in Settings is neither served by the relay nor sent on, so Sara does not
answer there; turned back on, it receives and answers at once. New secrets are read on next use.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select

from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, Direction, MessageStatus
from core.engine import Engine
from core.events import SettingsChanged
from core.storage import tables as t
from tests.integration.engine.test_demo_engine import wait_for


def telegram_says(engine: Engine, text: str) -> None:
    """A demo persona writes to the agency's bot (the sandbox posts it to the relay)."""
    persona = next(p for p in engine.sandbox.personas if p.chat_id)
    chat = {"id": persona.chat_id, "type": "private", "first_name": persona.name}
    engine.sandbox.telegram.push(
        {
            "message": {
                "message_id": int(time.time() * 1000) % 1_000_000,
                "from": {**chat, "is_bot": False, "language_code": "fr"},
                "chat": chat,
                "date": int(time.time()),
                "text": text,
            }
        }
    )


async def inbound_telegram(service) -> list[str]:
    """What prospects wrote on Telegram, as stored."""
    query = select(t.MessageRow.content).where(
        t.MessageRow.channel_type == Channel.TELEGRAM,
        t.MessageRow.direction == Direction.INBOUND,
    )
    async with service.db.session() as session:
        return list((await session.execute(query)).scalars())


def sent_on_telegram(engine: Engine) -> list[str]:
    return [str(r.body) for r in engine.sandbox.requests("telegram", "sendMessage")]


async def test_a_channel_turned_off_then_on_applies_at_once(demo) -> None:
    service, engine = demo
    assert Channel.TELEGRAM in engine.status.channels
    await service.tenant_settings.save_channel(Channel.TELEGRAM, enabled=False)
    await wait_for(lambda: _async(Channel.TELEGRAM not in engine.status.channels), timeout=5)

    telegram_says(engine, "STOP")
    await engine.sandbox.flush()
    await asyncio.sleep(1.5)  # what the ingest worker and Sara would need to answer
    assert "STOP" not in await inbound_telegram(service)
    assert sent_on_telegram(engine) == [], "nothing is sent on a channel turned off"

    await service.tenant_settings.save_channel(Channel.TELEGRAM, enabled=True)
    await wait_for(lambda: _async(Channel.TELEGRAM in engine.status.channels), timeout=5)
    telegram_says(engine, "STOP")
    await engine.sandbox.flush()
    await wait_for(lambda: _contains(inbound_telegram(service), "STOP"))
    await wait_for(lambda: _async(sent_on_telegram(engine)))  # Sara acknowledges there


async def test_new_secrets_are_read_on_next_use(demo) -> None:
    """The account's token is rotated at Twilio (the sandbox accepts only the new one) and saved
    in Settings: the next SMS goes out signed with the new token, not refused with the old."""
    service, engine = demo
    first = engine.runtime.adapter(Channel.SMS)
    engine.sandbox.credentials["twilio"] = {
        **engine.sandbox.credentials["twilio"],
        "auth_token": "rotated-token-0123456789abcdef",
    }
    service.bus.publish(SettingsChanged("credentials"))
    await wait_for(lambda: _async(engine.runtime.adapter(Channel.SMS) is not first), timeout=5)

    camille = await service.prospects.find(Channel.SMS, "+33612000001")
    assert camille is not None
    queued = await service.outbound.send_unified(
        camille.id,
        ReplyDraft(text="Bonjour Camille, nouvelle annonce."),
        preferred_channel=Channel.SMS,
    )

    async def settled():
        found = await service.messages.get(queued.message_id)
        return found.status not in (MessageStatus.QUEUED, MessageStatus.SENDING) and found

    sent = await wait_for(settled)
    assert sent.status in (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ)
    assert sent.channel == Channel.SMS and sent.provider_message_id


async def _async(value):
    return value


async def _contains(coro, item):
    return item in await coro
