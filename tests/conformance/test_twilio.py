"""Twilio: every operation the adapters use, through twilio-python, checked against
``twilio_api_v2010.json``; every callback against Twilio's documented fields."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qsl

import httpx
import pytest

from core.channels.adapter import Attachment, Location, OutgoingMessage, TemplateRef
from core.channels.errors import ProviderError
from core.domain.enums import Channel
from providers.sandbox.personas import PERSONAS
from providers.twilio.sms import TwilioSmsAdapter
from providers.twilio.whatsapp import TwilioWhatsAppAdapter
from tests.conformance import reference
from tests.conformance.checks import check_exchange
from tests.conformance.conftest import config_for, spec
from tests.conformance.report import REPORT

BY_KEY = {p.key: p for p in PERSONAS}
MEDIA = Attachment("plan.png", "image/png", url="https://cdn.example/plan.png")


async def drive(sandbox, relay) -> None:
    """Every call the Twilio adapters make, the failures they meet and what prospects send."""
    sms = TwilioSmsAdapter(config_for(sandbox, relay, "twilio_sms", "twilio", timeout=0.2))
    wa = TwilioWhatsAppAdapter(config_for(sandbox, relay, "twilio_whatsapp", "twilio"))
    wrong = dataclasses.replace(
        sms.config, credentials={**sms.config.credentials, "auth_token": "wrong"}
    )
    denied = TwilioSmsAdapter(wrong)
    try:
        await sms.check_connection()
        sent = await sms.send(
            OutgoingMessage(Channel.SMS, BY_KEY["confirms"].phone, "Bonjour", reference="r1")
        )
        await sms.send(OutgoingMessage(Channel.SMS, BY_KEY["photo"].phone, "Photo ?"))
        await sms.send(OutgoingMessage(Channel.SMS, "+33612000111", "", attachments=(MEDIA,)))
        await wa.send(OutgoingMessage(Channel.WHATSAPP, BY_KEY["asks"].phone, "Bonjour"))
        await wa.send(
            OutgoingMessage(Channel.WHATSAPP, "+33612000112", location=Location(48.85, 2.35, "A"))
        )
        await wa.send(
            OutgoingMessage(
                Channel.WHATSAPP,
                "+33612000903",  # outside the 24 h window
                template=TemplateRef("rdv", parameters=("Léa",), content_sid="HX" + "1" * 32),
            )
        )
        await wa.send(OutgoingMessage(Channel.WHATSAPP, "+33612000903", "hors fenêtre"))
        sandbox.inject("twilio", "bounce")
        await sms.send(OutgoingMessage(Channel.SMS, "+33612000113", "x"))
        await sandbox.flush()
        await sms.send(OutgoingMessage(Channel.SMS, BY_KEY["stops"].phone, "Bonjour Paul"))
        await sandbox.flush()  # Paul answers STOP
        for kind in ("invalid_number", "rate_limit", "server_error", "timeout"):
            sandbox.inject("twilio", kind, times=1)
            if kind == "timeout":
                sandbox.timeout_completes = 0.0
            with pytest.raises(ProviderError):
                await sms.send(OutgoingMessage(Channel.SMS, "+33612000114", "x"))
        for to in ("+33612000901", BY_KEY["stops"].phone):
            with pytest.raises(ProviderError):
                await sms.send(OutgoingMessage(Channel.SMS, to, "x"))
        with pytest.raises(ProviderError):
            await denied.send(OutgoingMessage(Channel.SMS, "+33612000115", "x"))
        await sms.lookup(sent.provider_message_id)
        await sms.lookup("SM" + "0" * 32)
        await sms.recent(BY_KEY["confirms"].phone)
        inbound = next(
            m
            for m in sandbox.twilio.messages.values()
            if m["num_media"] != "0" and m["direction"] == "inbound"
        )
        for url in await sms.list_media(inbound["sid"]):
            await sms.download_media(url)
        await sandbox.flush()
    finally:
        for adapter in (sms, wa, denied):
            await adapter.close()
    async with httpx.AsyncClient() as client:  # a route Twilio does not have
        await client.get(sandbox.base_urls["twilio"] + "/2010-04-01/Nothing.json")


async def test_twilio_conforms(sandbox, relay) -> None:
    await drive(sandbox, relay)
    await sandbox.idle()  # the timed-out request has been answered too
    api = spec("twilio_api_v2010.json")
    for exchange in sandbox.exchanges:
        path = exchange.path.removeprefix("/twilio")
        if "/Media/ME" in path and not path.endswith(".json"):
            continue  # media content: checked by the media round trip
        probe = "/Nothing" in path
        check_exchange(REPORT, "twilio", api, exchange, path=path, probe=probe)
    account = sandbox.credentials["twilio"]["account_sid"]
    media_base = f"{sandbox.base_urls['twilio']}/2010-04-01/Accounts/{account}"
    for webhook in sandbox.delivered:
        form = dict(parse_qsl(webhook.body.decode(), keep_blank_values=True))
        if webhook.kind == "status":
            found = reference.twilio_status(form)
        else:
            found = reference.twilio_inbound(form, media_base)
        item = f"{webhook.kind} {form.get('MessageStatus') or form.get('Body')!r}"
        REPORT.add("twilio", "webhooks", item, found)
    assert not REPORT.differences("twilio"), "\n".join(REPORT.differences("twilio"))
