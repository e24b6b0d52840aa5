"""Polling feeders: an adapter that can be polled feeds the same durable path as its webhook."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from sqlalchemy import select

from core.channels.adapter import PolledEvent
from core.channels.errors import NotSupported
from core.domain.enums import Channel, Provider
from core.relay.feeders import Poller, pollers_for
from core.relay.store import EventWriter
from core.service import InboxService
from core.storage import tables as t
from tests.relay_fakes import FakeAdapter, FakeAdapters, body, message
from tests.relay_harness import running_relay


class PolledTelegram(FakeAdapter):
    """A fake bot whose getUpdates answers from a script and records the cursors asked."""

    def __init__(self, updates: list[dict[str, Any]]) -> None:
        super().__init__(Channel.TELEGRAM, options={"bot_id": "777"}, polling=True)
        self.pending = updates
        self.cursors: list[str | None] = []

    async def poll(self, cursor: str | None, wait: float) -> list[PolledEvent]:
        self.cursors.append(cursor)
        return [
            PolledEvent(
                "telegram/poll",
                json.dumps(u).encode(),
                "application/json",
                cursor=str(u["update_id"] + 1),
            )
            for u in self.pending
            if cursor is None or u["update_id"] >= int(cursor)
        ]


class PolledList(FakeAdapter):
    """A fake provider whose message list is polled: no cursor, the dedupe key drops repeats."""

    def __init__(self, bodies: list[bytes]) -> None:
        super().__init__(Channel.SMS, polling=True)
        self.capabilities = dataclasses.replace(self.capabilities, poll_interval=10.0)  # type: ignore[misc]
        self.bodies = bodies

    async def poll(self, cursor: str | None, wait: float) -> list[PolledEvent]:
        return [PolledEvent("twilio/sms/poll", b, "application/json") for b in self.bodies]


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
        poller = Poller(writer, bot, service.ctx.tenant_id, wait=0)
        assert await poller.poll_once() == 2
        assert await poller.poll_once() == 0  # nothing new past the cursor
        assert bot.cursors == [None, "12"]
        # the same update posted by the webhook too is not stored twice
        await relay.post("/webhooks/telegram/777", body(message("tg:10", "4242", "Bonjour")))
        await writer.close()
        assert len(await relay.stored()) == 2
        await relay.worker.run_once()
    assert await inbound_texts(service) == ["Bonjour", "Re"]


async def test_a_polled_message_list_feeds_ingest(service: InboxService) -> None:
    account = PolledList([body(message("SM1", "+33612345678", "Bonjour"))])
    async with running_relay(service, FakeAdapters(sms=account)) as relay:
        writer = EventWriter(service.db)
        poller = Poller(writer, account, service.ctx.tenant_id, wait=0)
        assert poller.interval == 10.0  # the adapter's own pace
        assert await poller.poll_once() == 1
        assert await poller.poll_once() == 0  # listed again: the dedupe key drops it
        await writer.close()
        [event] = await relay.stored()
        assert event.endpoint == "twilio/sms/poll" and event.headers["channel"] == "sms"
        await relay.worker.run_once()
    assert await inbound_texts(service) == ["Bonjour"]


def test_only_adapters_that_say_so_get_pollers() -> None:
    telegram, listing = PolledTelegram([]), PolledList([])
    voice = FakeAdapter(Channel.VOICE, provider=Provider.VAPI)
    found = pollers_for(object(), [telegram, listing, voice], 1)  # type: ignore[arg-type]
    assert [p.adapter for p in found] == [telegram, listing]


async def test_polling_an_adapter_that_cannot_says_so() -> None:
    voice = FakeAdapter(Channel.VOICE, provider=Provider.VAPI)
    with pytest.raises(NotSupported, match="does not offer poll"):
        await voice.poll(None, 0)
