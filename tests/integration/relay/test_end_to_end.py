"""End to end: the sandbox posts signed webhooks of every kind to a running relay on loopback,
the real adapters verify and parse them, ingest writes the database, and we look at it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from core.channels.adapter import OutgoingMessage
from core.channels.registry import adapter_names, load_plugin
from core.channels.runtime import ChannelRuntime
from core.config.settings import ProviderEndpoints
from core.domain.enums import Channel, MessageKind, MessageStatus, Provider
from core.ingest.worker import IngestWorker
from core.relay.server import Relay, RelayConfig, runtime_lookup
from core.service import InboxService
from core.storage import tables as t
from core.storage.timeline import append_message, conversation_for
from tests.factories import add_prospect

pytestmark = pytest.mark.skipif(
    "twilio_sms" not in adapter_names(), reason="the provider adapters are not installed"
)

PHONE = "+33612345678"
SETUP = {
    Channel.SMS: (Provider.TWILIO, "twilio_sms"),
    Channel.EMAIL: (Provider.SENDGRID, "sendgrid"),
    Channel.TELEGRAM: (Provider.TELEGRAM, "telegram"),
    Channel.VOICE: (Provider.VAPI, "vapi"),
}


@dataclass
class World:
    service: InboxService
    sandbox: Any
    runtime: ChannelRuntime
    relay_url: str
    worker: IngestWorker

    async def flush(self) -> list[Any]:
        """Post what the sandbox queued; every webhook must have been accepted."""
        posted = await self.sandbox.flush()
        assert [(w.kind, w.status, w.error) for w in posted if w.status != 200] == []
        await self.worker.run_once()
        return posted

    async def rows(self, table, *where) -> list[Any]:
        async with self.service.db.session() as session:
            query = select(table).where(*where).order_by(table.id)
            return list((await session.execute(query)).scalars().all())


async def world_for(service: InboxService, whatsapp: Provider) -> AsyncIterator[World]:
    holder: dict[str, ChannelRuntime] = {}

    def lookup(channel: Channel):
        return runtime_lookup(holder["runtime"])(channel)

    relay = Relay(service.db, lookup, RelayConfig(tenant_id=service.ctx.tenant_id))
    server = TestServer(relay.app(), host="127.0.0.1")
    await server.start_server()
    relay.answer_directly(server.runner.server)  # as ``coccinelle relay`` serves
    relay_url = str(server.make_url("")).rstrip("/")
    sandbox = await load_plugin("coccinelle.sandbox", "default")(relay_url)
    setup = {
        **SETUP,
        Channel.WHATSAPP: (
            whatsapp,
            "twilio_whatsapp" if whatsapp == Provider.TWILIO else "meta_whatsapp",
        ),
    }
    for channel, (provider, name) in setup.items():
        config = {"base_url": sandbox.base_urls[str(provider)], **sandbox.options[name]}
        await service.tenant_settings.save_channel(channel, provider=provider, config=config)
    runtime = ChannelRuntime(
        await service.tenant_settings.channels(),
        lambda config, _names: sandbox.credentials[str(config.provider)],
        ProviderEndpoints(),
        callback_url=relay_url,
    )
    holder["runtime"] = runtime
    try:
        yield World(service, sandbox, runtime, relay_url, IngestWorker(service.ctx, lookup))
    finally:
        await runtime.close()
        await sandbox.stop()
        await server.close()


@pytest.fixture
async def world(service: InboxService) -> AsyncIterator[World]:
    async for value in world_for(service, Provider.TWILIO):
        yield value


@pytest.fixture
async def meta_world(service: InboxService) -> AsyncIterator[World]:
    async for value in world_for(service, Provider.META):
        yield value


def telegram_update(chat_id: int, text: str, name: str = "Lucie") -> dict[str, Any]:
    sender = {"id": chat_id, "is_bot": False, "first_name": name}
    return {
        "message": {
            "message_id": int(time.time() * 1000) % 1_000_000,
            "from": sender,
            "chat": {"id": chat_id, "type": "private", "first_name": name},
            "date": int(time.time()),
            "text": text,
        }
    }


async def test_inbound_of_every_kind_lands_in_the_inbox(world: World) -> None:
    box = world.sandbox
    box.twilio.enqueue_inbound(PHONE, box.twilio.sms_number, "Bonjour, le T3 est libre ?")
    box.twilio.enqueue_inbound(
        PHONE, box.twilio.whatsapp_number, "Re", whatsapp=True, profile_name="Marie"
    )
    call_id = box.vapi.inbound_call(PHONE)
    bot = world.runtime.adapter(Channel.TELEGRAM)
    await bot.set_webhook(f"{world.relay_url}/webhooks/telegram/{box.telegram.bot_id}")
    box.telegram.push(telegram_update(4242, "Bonjour Sara"))
    original = {"from": {"email": box.sendgrid.from_email}, "subject": "Visite", "headers": {}}
    box.sendgrid.enqueue_inbound(
        "marie.dupont@example.fr", "Marie Dupont", original, "Je suis intéressée"
    )
    await world.flush()

    events = await world.rows(t.InboundEventRow)
    assert {e.endpoint for e in events} >= {
        "twilio/inbound",
        "vapi",
        "telegram",
        "sendgrid/inbound",
    }
    assert [(e.id, e.error) for e in events if e.status != "processed"] == []
    phone_people = await world.rows(t.ProspectRow, t.ProspectRow.phone == PHONE)
    assert len(phone_people) == 1
    conversations = await world.rows(
        t.ConversationRow, t.ConversationRow.prospect_id == phone_people[0].id
    )
    assert {c.channel_type for c in conversations} == {"sms", "whatsapp", "voice"}
    [call] = await world.rows(t.MessageRow, t.MessageRow.provider_message_id == call_id)
    assert call.kind == MessageKind.CALL and call.meta.get("final")
    assert call.meta.get("duration_seconds") and call.meta.get("transcript")
    [marie] = await world.rows(t.ProspectRow, t.ProspectRow.email == "marie.dupont@example.fr")
    assert marie.display_name == "Marie Dupont"
    [lucie] = await world.rows(t.ProspectRow, t.ProspectRow.telegram_chat_id == 4242)
    [email] = await world.rows(t.MessageRow, t.MessageRow.prospect_id == marie.id)
    assert email.content.startswith("Je suis intéressée") and email.subject.endswith("Visite")
    assert lucie.display_name.startswith("Lucie")


async def sent(world: World, channel: Channel, provider_message_id: str, provider: Provider) -> int:
    async with world.service.db.session() as session:
        prospect = await session.get(t.ProspectRow, (await world.rows(t.ProspectRow))[0].id)
        conversation = await conversation_for(session, prospect, channel, None)
        row = await append_message(
            session, conversation, direction="outbound", sender_type="agent", content="RDV",
            status=MessageStatus.SENT, provider=provider, provider_message_id=provider_message_id,
        )  # fmt: skip
        return row.id


async def test_status_callbacks_move_sent_messages_forward(world: World) -> None:
    await add_prospect(world.service, "Marie", phone="+33698765432", email="marie@example.fr")
    sms = await world.runtime.adapter(Channel.SMS).send(
        OutgoingMessage(
            channel=Channel.SMS, to="+33698765432", text="Votre RDV", reference="sara:1:confirm"
        )
    )
    sms_id = await sent(world, Channel.SMS, sms.provider_message_id, Provider.TWILIO)
    mail = await world.runtime.adapter(Channel.EMAIL).send(
        OutgoingMessage(
            channel=Channel.EMAIL,
            to="marie@example.fr",
            subject="RDV",
            text="Votre RDV",
            reference="sara:2:confirm",
        )
    )
    mail_id = await sent(world, Channel.EMAIL, mail.provider_message_id, Provider.SENDGRID)
    posted = await world.flush()
    assert any("/webhooks/twilio/status" in w.url for w in posted)
    [sms_row] = await world.rows(t.MessageRow, t.MessageRow.id == sms_id)
    [mail_row] = await world.rows(t.MessageRow, t.MessageRow.id == mail_id)
    assert sms_row.status == "delivered" and sms_row.delivered_at is not None
    assert mail_row.status in ("delivered", "read") and mail_row.delivered_at is not None
    # a replay of every webhook changes nothing and is stored once
    before = len(await world.rows(t.InboundEventRow))
    async with aiohttp.ClientSession() as http:
        for webhook in posted:
            async with http.post(webhook.url, data=webhook.body, headers=webhook.headers) as r:
                assert r.status == 200
    await world.worker.run_once()
    assert len(await world.rows(t.InboundEventRow)) == before


async def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers=headers) as r:
        return r.status


async def test_bad_input_is_refused_and_stores_nothing(world: World) -> None:
    box = world.sandbox
    box.twilio.enqueue_inbound(PHONE, box.twilio.sms_number, "Bonjour")
    original = {"from": {"email": box.sendgrid.from_email}, "subject": "Visite", "headers": {}}
    box.sendgrid.enqueue_inbound("marie@example.fr", "Marie", original, "Bonjour " * 50)
    box.sendgrid.enqueue_events(
        [{"email": "a@b.fr", "event": "delivered", "sg_event_id": "e1", "sg_message_id": "x.y",
          "timestamp": int(time.time())}],
        timestamp=str(int(time.time()) - 3600),
    )  # fmt: skip
    box.vapi.inbound_call(PHONE)
    twilio, inbound, stale, *vapi = box.pending
    box.pending.clear()

    forged = {
        **twilio.headers,
        "X-Twilio-Signature": "AAAA" + twilio.headers["X-Twilio-Signature"][4:],
    }
    assert await post(twilio.url, twilio.body, forged) in (401, 403)
    assert await post(twilio.url, twilio.body + b"&Body=changed", twilio.headers) in (401, 403)
    assert await post(stale.url, stale.body, stale.headers) in (401, 403)
    wrong = {**inbound.headers, "Authorization": "Basic aW5ib3VuZDp3cm9uZw=="}
    assert await post(inbound.url, inbound.body, wrong) in (401, 403)
    assert await post(inbound.url, inbound.body[: len(inbound.body) // 2], inbound.headers) == 400
    call = vapi[0]
    assert await post(call.url, call.body, {**call.headers, "X-Vapi-Secret": "nope"}) in (401, 403)
    for broken in (b'{"message": ', b"\xff\xfe\x00"):  # signed as VAPI signs, yet unreadable
        signed = {**call.headers, **box.vapi.auth_headers(broken)}
        assert await post(call.url, broken, signed) == 400
    update = box.telegram
    tg_headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": box.credentials["telegram"]["webhook_secret"],
    }
    assert (
        await post(f"{world.relay_url}/webhooks/telegram/999", b'{"update_id": 1}', tg_headers)
        == 404
    )
    assert update is not None
    huge = b"x" * (5 * 1024 * 1024)
    assert await post(twilio.url, huge, twilio.headers) == 413
    assert await world.rows(t.InboundEventRow) == []


async def test_meta_whatsapp_challenge_inbound_and_status(meta_world: World) -> None:
    box = meta_world.sandbox
    token = box.credentials["meta"]["verify_token"]
    query = f"hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{meta_world.relay_url}/webhooks/meta/whatsapp?{query}") as r:
            assert (r.status, await r.text()) == (200, "1158201444")
        async with http.get(
            f"{meta_world.relay_url}/webhooks/meta/whatsapp?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1"
        ) as r:
            assert r.status == 403
    wamid = box.meta.enqueue_inbound(PHONE, "Marie", "Bonjour")
    await meta_world.flush()
    [message] = await meta_world.rows(t.MessageRow, t.MessageRow.provider_message_id == wamid)
    assert message.channel_type == "whatsapp" and message.content == "Bonjour"
    [prospect] = await meta_world.rows(t.ProspectRow)
    assert prospect.whatsapp == PHONE


async def test_sara_answers_real_webhooks(world: World) -> None:
    from datetime import timedelta

    from core.booking.appointments import AppointmentDraft
    from core.domain.enums import AppointmentStatus

    service, box = world.service, world.sandbox
    prospect = await add_prospect(service, "Lucie Bernard", phone=PHONE, telegram_chat_id=4242)
    start = service.ctx.now() + timedelta(days=3)
    appointment = await service.appointments.create(
        AppointmentDraft(prospect_id=prospect, starts_at=start, ends_at=start + timedelta(hours=1))
    )
    bot = world.runtime.adapter(Channel.TELEGRAM)
    await bot.set_webhook(f"{world.relay_url}/webhooks/telegram/{box.telegram.bot_id}")
    box.telegram.push(telegram_update(4242, "/rdv"))
    box.twilio.enqueue_inbound(PHONE, box.twilio.sms_number, "OUI !")
    box.twilio.enqueue_inbound(PHONE, box.twilio.sms_number, "STOP")
    await world.flush()

    assert (await service.appointments.get(appointment.id)).status == AppointmentStatus.CONFIRMED
    assert Channel.SMS in (await service.prospects.get(prospect)).opted_out_channels
    replies = await world.rows(t.OutboxRow)
    by_channel = {(o.channel_type, o.idempotency_key.split(":")[-1]) for o in replies}
    assert {("telegram", "cmd_rdv"), ("sms", "confirm_ack")} <= by_channel
    assert not [o for o in replies if o.idempotency_key.endswith(":opt_out_ack")]  # 21610
    events = await world.rows(t.MessageRow, t.MessageRow.kind == MessageKind.EVENT)
    assert {e.meta["action"] for e in events} >= {"confirm", "opt_out"}
