"""What each adapter declares it offers, and what the relay serves from those declarations."""

from __future__ import annotations

import pytest

from core.channels.errors import NotSupported, SignatureError
from core.domain.enums import Channel, Provider
from core.relay.endpoints import installed_endpoints, secret_headers
from providers.meta.adapter import MetaWhatsAppAdapter
from providers.sendgrid.adapter import SendGridAdapter
from providers.telegram.adapter import TelegramAdapter
from providers.twilio.sms import TwilioSmsAdapter
from providers.twilio.whatsapp import TwilioWhatsAppAdapter
from providers.vapi.adapter import VapiAdapter

from .helpers import config, request

#: The fixed webhook contract: every path the providers were given, with its provider.
CONTRACT = {
    "twilio/sms": ("/webhooks/twilio/sms", Provider.TWILIO),
    "twilio/whatsapp": ("/webhooks/twilio/whatsapp", Provider.TWILIO),
    "twilio/status": ("/webhooks/twilio/status", Provider.TWILIO),
    "twilio/inbound": ("/webhooks/twilio/inbound", Provider.TWILIO),
    "sendgrid/inbound": ("/webhooks/sendgrid/inbound", Provider.SENDGRID),
    "sendgrid/inbound-path": ("/webhooks/sendgrid/inbound/{secret}", Provider.SENDGRID),
    "sendgrid/events": ("/webhooks/sendgrid/events", Provider.SENDGRID),
    "telegram": ("/webhooks/telegram/{bot_id}", Provider.TELEGRAM),
    "meta/whatsapp": ("/webhooks/meta/whatsapp", Provider.META),
    "meta": ("/webhooks/meta", Provider.META),
    "vapi": ("/webhooks/vapi", Provider.VAPI),
}


def test_the_installed_adapters_declare_the_whole_contract_once() -> None:
    endpoints = installed_endpoints()
    served = {e.name: (e.route.path, e.provider) for e in endpoints}
    assert served == CONTRACT and len(endpoints) == len(CONTRACT)
    assert {e.name for e in endpoints if e.route.challenge} == {"meta", "meta/whatsapp"}
    assert {e.name for e in endpoints if e.route.email} == {
        "sendgrid/inbound",
        "sendgrid/inbound-path",
    }
    assert all("<Response/>" in e.route.reply for e in endpoints if e.provider == "twilio")
    hidden = secret_headers(endpoints)
    assert {"authorization", "x-twilio-signature", "x-hub-signature-256"} <= hidden
    assert {"x-telegram-bot-api-secret-token", "x-vapi-secret"} <= hidden


def test_twilio_reads_the_channel_of_a_shared_path_from_the_numbers() -> None:
    [status] = [r for r in TwilioSmsAdapter.webhooks if r.name == "twilio/status"]
    whatsapp = request(b"MessageSid=SM1&From=whatsapp%3A%2B33600000000&To=whatsapp%3A%2B33611")
    assert TwilioSmsAdapter.route_channel(status, whatsapp) == Channel.WHATSAPP
    assert TwilioSmsAdapter.route_channel(status, request(b"From=%2B33600000000")) == Channel.SMS
    assert TwilioSmsAdapter.route_channel(status, request(b"\xff\xfe")) == Channel.SMS
    [own] = [r for r in TwilioWhatsAppAdapter.webhooks if r.name == "twilio/whatsapp"]
    assert TwilioWhatsAppAdapter.route_channel(own, request(b"From=%2B336")) == Channel.WHATSAPP


def test_telegram_owns_only_its_bot_path() -> None:
    bot = TelegramAdapter(config(bot_token="777:abc", webhook_secret="s"))
    assert bot.owns_route({"bot_id": "777"}) and not bot.owns_route({"bot_id": "999"})
    assert bot.capabilities.polling


def test_meta_answers_the_challenge_with_the_verify_token_of_credentials_or_options() -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": "vt", "hub.challenge": "42"}
    meta = MetaWhatsAppAdapter(config(access_token="t", app_secret="s", verify_token="vt"))
    assert meta.answer_challenge(query) == "42"
    configured = MetaWhatsAppAdapter(config(options={"verify_token": "vt"}))
    assert configured.answer_challenge(query) == "42"
    with pytest.raises(SignatureError):
        meta.answer_challenge({**query, "hub.verify_token": "other"})
    with pytest.raises(SignatureError):
        meta.answer_challenge({**query, "hub.mode": "unsubscribe"})


async def test_what_an_adapter_does_not_offer_is_refused_clearly() -> None:
    vapi = VapiAdapter(config(api_key="k", webhook_secret="s"))
    assert not (vapi.capabilities.polling or vapi.capabilities.recent)
    with pytest.raises(NotSupported, match="vapi does not offer poll"):
        await vapi.poll(None, 0)
    with pytest.raises(NotSupported, match="recent"):
        await vapi.recent("+33612345678")
    with pytest.raises(NotSupported, match="download_media"):
        await vapi.download_media("x")
    with pytest.raises(NotSupported, match="answer_challenge"):
        SendGridAdapter(config(api_key="k")).answer_challenge({})
    assert TwilioSmsAdapter.capabilities.recent and TwilioWhatsAppAdapter.capabilities.recent
