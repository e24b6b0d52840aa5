"""Polling feeders: Telegram getUpdates and Twilio's message list feed the same durable path."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from core.domain.enums import Channel, Provider
from core.relay.feeders import TelegramPoller, TwilioPoller, pollers_for
from core.relay.store import EventWriter
from core.service import InboxService
from core.storage import tables as t
from tests.relay_fakes import FakeAdapter, FakeAdapters, body, message
from tests.relay_harness import running_relay


class PolledTelegram(FakeAdapter):
    """A fake bot whose getUpdates answers from a script and records the offsets asked."""

    def __init__(self, updates: list[dict[str, Any]]) -> None:
        super().__init__(Provider.TELEGRAM, Channel.TELEGRAM, options={"bot_id": "777"})
        self.pending = updates
        self.offsets: list[int | None] = []

    async def get_updates(self, offset: int | None = None, timeout: int = 0) -> list[dict]:
        self.offsets.append(offset)
        return [u for u in self.pending if offset is None or u["update_id"] >= offset]


class PolledTwilio(FakeAdapter):
    """A fake Twilio account whose message list is a script of webhook-like forms."""

    def __init__(self, forms: list[dict[str, str]]) -> None:
        super().__init__(Provider.TWILIO, Channel.SMS)
        self.forms = forms

    async def poll_inbound(self) -> list[dict[str, str]]:
        return self.forms


def update(update_id: int, key: str, sender: str, text: str) -> dict[str, Any]:
    return {"update_id": update_id, "events": [message(key, sender, text)]}


async def inbound_texts(service: InboxService) -> list[str]:
    query = select(t.MessageRow.content).where(t.MessageRow.direction == "inbound")
    async with service.db.session() as session:
        return sorted((await session.execute(query)).scalars().all())


async def test_telegram_updates_are_stored_once_and_ingested(service: InboxService) -> None:
    bot = PolledTelegram(
        [update(10, "tg:10", "4242", "Bonjour"), update(11, "tg:11", "4242", "Re")]
    )
    async with running_relay(service, FakeAdapters(telegram=bot)) as relay:
        writer = EventWriter(service.db)
        poller = TelegramPoller(writer, bot, service.ctx.tenant_id, timeout=0)
        assert await poller.poll_once() == 2
        assert await poller.poll_once() == 0  # nothing new past the offset
        assert bot.offsets == [None, 12]
        # the same update posted by the webhook too is not stored twice
        await relay.post("/webhooks/telegram/777", body(message("tg:10", "4242", "Bonjour")))
        await writer.close()
        assert len(await relay.stored()) == 2
        await relay.worker.run_once()
    assert await inbound_texts(service) == ["Bonjour", "Re"]


async def test_twilio_message_list_feeds_ingest(service: InboxService) -> None:
    forms = [{"events": json.dumps([message("SM1", "+33612345678", "Bonjour")])}]
    account = PolledTwilio(forms)
    async with running_relay(service, FakeAdapters(sms=account)) as relay:
        writer = EventWriter(service.db)
        poller = TwilioPoller(writer, account, service.ctx.tenant_id, interval=0)
        assert await poller.poll_once() == 1
        assert await poller.poll_once() == 0  # listed again: the dedupe key drops it
        await writer.close()
        [event] = await relay.stored()
        assert event.endpoint == "twilio/sms/poll" and event.headers["channel"] == "sms"
        await relay.worker.run_once()
    assert await inbound_texts(service) == ["Bonjour"]


def test_only_pollable_adapters_get_pollers() -> None:
    adapters = [PolledTelegram([]), PolledTwilio([]), FakeAdapter(Provider.VAPI, Channel.VOICE)]
    kinds = [type(p) for p in pollers_for(object(), adapters, 1)]  # type: ignore[arg-type]
    assert kinds == [TelegramPoller, TwilioPoller]
