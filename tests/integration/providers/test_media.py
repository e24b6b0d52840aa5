"""Media round trips: what a prospect sends comes back byte for byte through the adapters'
``download_media`` (Telegram getFile + file download, Meta media id → URL → bytes with the
token, Twilio media URLs with the account's credentials), and uploads can be fetched again."""

from __future__ import annotations

import httpx
import pytest

from core.channels.adapter import Attachment, InboundMessage, OutgoingMessage
from core.channels.errors import PermanentProviderError
from core.domain.enums import Channel
from providers.meta.adapter import MetaWhatsAppAdapter
from providers.sandbox.personas import PERSONAS
from providers.sandbox.twilio_api import TINY_PNG
from providers.telegram.adapter import TelegramAdapter
from providers.twilio.sms import TwilioSmsAdapter

from .conftest import config_for

NINA = next(p for p in PERSONAS if p.photo)


def inbound(adapter, relay, path: str) -> list[InboundMessage]:
    return [e for r in relay.at(path) for e in adapter.parse(r) if isinstance(e, InboundMessage)]


async def test_telegram_photo_round_trip(sandbox, relay):
    bot = TelegramAdapter(config_for(sandbox, relay, "telegram", "telegram"))
    try:
        await bot.set_webhook(relay.url + "/webhooks/telegram")
        await bot.send(OutgoingMessage(Channel.TELEGRAM, str(NINA.chat_id), "Une photo ?"))
        await sandbox.flush()
        (photo,) = inbound(bot, relay, "/webhooks/telegram")
        content, kind = await bot.download_media(photo.extra["file_ids"][0])
        assert (content, kind) == (TINY_PNG, "image/png")
        sent = await bot.send(
            OutgoingMessage(
                Channel.TELEGRAM,
                "7003",
                attachments=(Attachment("plan.pdf", "application/pdf", content=b"%PDF-1.4 plan"),),
            )
        )
        assert sent.provider_message_id
        document = sandbox.requests("telegram", "sendDocument")[-1]
        assert document.body["document"]["size"] == len(b"%PDF-1.4 plan")
        file_id = next(
            iter(f for f, v in sandbox.telegram.files.items() if v[2].startswith(b"%PDF"))
        )
        assert (await bot.download_media(file_id))[0] == b"%PDF-1.4 plan"
        with pytest.raises(PermanentProviderError):
            await bot.download_media("no-such-file")
    finally:
        await bot.close()
    token = sandbox.credentials["telegram"]["bot_token"]
    path = next(iter(sandbox.telegram.files.values()))[1]
    async with httpx.AsyncClient() as client:
        other = await client.get(f"{sandbox.base_urls['telegram']}/file/bot1:wrong/{path}")
        assert other.status_code == 401
        good = await client.get(f"{sandbox.base_urls['telegram']}/file/bot{token}/{path}")
        assert good.status_code == 200


async def test_meta_media_round_trip(sandbox, relay):
    meta = MetaWhatsAppAdapter(config_for(sandbox, relay, "meta_whatsapp", "meta"))
    try:
        await meta.send(OutgoingMessage(Channel.WHATSAPP, NINA.phone, "Une photo ?"))
        await sandbox.flush()
        (photo,) = inbound(meta, relay, "/webhooks/meta")
        assert photo.extra["type"] == "image" and photo.text == NINA.reply
        assert await meta.download_media(photo.extra["media_id"]) == (TINY_PNG, "image/png")
        media_id = await meta.upload_media(b"%PDF-1.4 bail", "application/pdf", "bail.pdf")
        assert await meta.download_media(media_id) == (b"%PDF-1.4 bail", "application/pdf")
        with pytest.raises(PermanentProviderError):
            await meta.download_media("../../v23.0/106540352242922")
    finally:
        await meta.close()
    node = f"{sandbox.base_urls['meta']}/v23.0/{media_id}"
    async with httpx.AsyncClient() as client:
        assert (await client.get(node)).status_code == 401  # the token is needed
        info = await client.get(node, headers={"Authorization": "Bearer EAAsandboxaccesstoken"})
        assert info.json()["mime_type"] == "application/pdf"
        assert (await client.get(info.json()["url"])).status_code == 401
        number = await client.get(
            f"{sandbox.base_urls['meta']}/v23.0/{sandbox.meta.phone_number_id}",
            headers={"Authorization": "Bearer EAAsandboxaccesstoken"},
        )
        assert number.json()["verified_name"]  # not caught by the media route


async def test_twilio_media_round_trip(sandbox, relay):
    sms = TwilioSmsAdapter(config_for(sandbox, relay, "twilio_sms", "twilio"))
    try:
        await sms.send(OutgoingMessage(Channel.SMS, NINA.phone, "Une photo ?"))
        await sandbox.flush()
        (photo,) = inbound(sms, relay, "/webhooks/twilio/inbound")
        url = photo.attachments[0].url
        assert f"/Messages/{photo.provider_message_id}/Media/ME" in url  # the inbound message
        assert await sms.download_media(url) == (TINY_PNG, "image/png")
        assert await sms.list_media(photo.provider_message_id) == [url]
        with pytest.raises(PermanentProviderError):  # the credentials go to Twilio only
            await sms.download_media("https://attacker.example/2010-04-01/Accounts/x/Media/y")
    finally:
        await sms.close()
    async with httpx.AsyncClient() as client:
        assert (await client.get(url)).status_code == 401


async def test_email_photo_arrives_as_an_attachment(sandbox, relay):
    from providers.sendgrid.adapter import SendGridAdapter

    email = SendGridAdapter(config_for(sandbox, relay, "sendgrid", "sendgrid"))
    await email.send(OutgoingMessage(Channel.EMAIL, NINA.email, "Une photo ?", subject="Visite"))
    await sandbox.flush()
    (reply,) = inbound(email, relay, "/webhooks/sendgrid/inbound")
    (photo,) = reply.attachments
    assert (photo.filename, photo.content_type, photo.content) == (
        "photo.png",
        "image/png",
        TINY_PNG,
    )
