"""The sandbox's simulated prospects answer as scripted; failures are injected per recipient."""

from __future__ import annotations

import httpx
import pytest

from core.channels.adapter import CallReport, OutgoingMessage
from core.channels.errors import PermanentProviderError, TransientProviderError
from core.domain.enums import Channel
from providers.sandbox.personas import PERSONAS, persona_for
from providers.sendgrid.adapter import SendGridAdapter
from providers.telegram.adapter import TelegramAdapter
from providers.twilio.sms import TwilioSmsAdapter
from providers.vapi.adapter import VapiAdapter

from .conftest import config_for


@pytest.fixture
async def sms(sandbox, relay):
    adapter = TwilioSmsAdapter(config_for(sandbox, relay, "twilio_sms", "twilio", timeout=2.0))
    yield adapter
    await adapter.close()


async def test_every_persona_answers_an_sms(sandbox, relay, sms):
    for persona in PERSONAS:
        await sms.send(OutgoingMessage(channel=Channel.SMS, to=persona.phone, text="Bonjour"))
    await sandbox.flush()
    replies = {}
    for request in relay.at("/webhooks/twilio/inbound"):
        sms.verify(request)
        (event,) = sms.parse(request)
        replies[persona_for(event.sender).key] = event
    assert replies["confirms"].text == "OUI"
    assert replies["cancels"].text == "ANNULER"
    assert replies["asks"].text.endswith("?")
    assert replies["stops"].text == "STOP" and replies["stops"].extra["OptOutType"] == "STOP"
    photo = replies["photo"].attachments[0]
    creds = sandbox.credentials["twilio"]
    async with httpx.AsyncClient(auth=(creds["account_sid"], creds["auth_token"])) as client:
        image = await client.get(photo.url)
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert "calls" not in replies

    vapi = VapiAdapter(config_for(sandbox, relay, "vapi", "vapi"))
    reports = [r for request in relay.at("/webhooks/vapi") for r in vapi.parse(request)]
    final = [r for r in reports if isinstance(r, CallReport) and r.final]
    assert len(final) == 1 and final[0].phone == PERSONAS[5].phone
    assert final[0].direction == "inbound" and final[0].transcript


async def test_failures_injected_per_recipient(sandbox, sms):
    sandbox.inject("twilio", "invalid_number", to=PERSONAS[1].phone)
    await sms.send(OutgoingMessage(channel=Channel.SMS, to=PERSONAS[0].phone, text="ok"))
    with pytest.raises(PermanentProviderError) as caught:
        await sms.send(OutgoingMessage(channel=Channel.SMS, to=PERSONAS[1].phone, text="x"))
    assert caught.value.code == "21211"
    await sms.send(OutgoingMessage(channel=Channel.SMS, to=PERSONAS[1].phone, text="again"))
    with pytest.raises(PermanentProviderError) as caught:  # a number that always fails
        await sms.send(OutgoingMessage(channel=Channel.SMS, to="+33612000902", text="x"))
    assert caught.value.code == "21610"
    with pytest.raises(ValueError, match="unknown failure"):
        sandbox.inject("twilio", "meteor")


async def test_sendgrid_timeout_is_transient(sandbox, relay):
    email = SendGridAdapter(config_for(sandbox, relay, "sendgrid", "sendgrid", timeout=0.5))
    sandbox.inject("sendgrid", "timeout")
    sandbox.hang_seconds = 3
    with pytest.raises(TransientProviderError):
        await email.send(
            OutgoingMessage(channel=Channel.EMAIL, to="a@prospects.test", subject="s", text="t")
        )


async def test_telegram_long_text_is_split(sandbox, relay):
    telegram = TelegramAdapter(config_for(sandbox, relay, "telegram", "telegram"))
    try:
        text = "a" * 4096 + "b" * 10
        await telegram.send(OutgoingMessage(channel=Channel.TELEGRAM, to="555", text=text))
        parts = [r.body["text"] for r in sandbox.requests("telegram", "/sendMessage")]
        assert parts == ["a" * 4096, "b" * 10]
    finally:
        await telegram.close()
