"""Provider behaviour the app depends on: opt-out state, the WhatsApp window and templates,
every injected failure as each provider shows it, timeouts that still send, unknown routes."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from core.channels.adapter import OutgoingMessage, StatusUpdate, TemplateRef
from core.channels.errors import PermanentProviderError, TransientProviderError
from core.domain.enums import Channel, MessageStatus
from providers.meta.adapter import MetaWhatsAppAdapter
from providers.sandbox.failures import PROVIDER_FAILURES
from providers.sendgrid.adapter import SendGridAdapter
from providers.telegram.adapter import TelegramAdapter
from providers.twilio.sms import TwilioSmsAdapter
from providers.twilio.whatsapp import TwilioWhatsAppAdapter
from providers.vapi.adapter import VapiAdapter

from .conftest import config_for

PHONE = "+33612000150"
TEMPLATE = TemplateRef("rdv_rappel", parameters=("Léa",), content_sid="HX" + "a" * 32)
OUTSIDE = "+33612000903"  # a prospect who has not written for more than 24 h


def adapter_for(sandbox, relay, name: str, timeout: float = 2.0):
    classes = {
        "twilio_sms": (TwilioSmsAdapter, "twilio"),
        "twilio_whatsapp": (TwilioWhatsAppAdapter, "twilio"),
        "sendgrid": (SendGridAdapter, "sendgrid"),
        "telegram": (TelegramAdapter, "telegram"),
        "meta_whatsapp": (MetaWhatsAppAdapter, "meta"),
        "vapi": (VapiAdapter, "vapi"),
    }
    cls, provider = classes[name]
    return cls(config_for(sandbox, relay, name, provider, timeout=timeout))


def statuses(adapter, relay) -> list[StatusUpdate]:
    return [
        e
        for r in relay.requests
        if "/inbound" not in r.url
        for e in _parse(adapter, r)
        if isinstance(e, StatusUpdate)
    ]


def _parse(adapter, request):
    try:
        return adapter.parse(request)
    except Exception:  # another provider's webhook
        return []


async def test_stop_blocks_sms_until_start(sandbox, relay):
    sms = adapter_for(sandbox, relay, "twilio_sms")
    try:
        await sms.send(OutgoingMessage(Channel.SMS, PHONE, "Bonjour"))
        sandbox.twilio.enqueue_inbound(PHONE, sandbox.twilio.sms_number, "Stop")
        with pytest.raises(PermanentProviderError) as caught:
            await sms.send(OutgoingMessage(Channel.SMS, PHONE, "Encore ?"))
        assert caught.value.code == "21610"
        sandbox.twilio.enqueue_inbound(PHONE, sandbox.twilio.sms_number, "stop please")
        with pytest.raises(PermanentProviderError):  # a phrase changes nothing: still out
            await sms.send(OutgoingMessage(Channel.SMS, PHONE, "x"))
        sandbox.twilio.enqueue_inbound(PHONE, sandbox.twilio.sms_number, "START")
        assert (
            await sms.send(OutgoingMessage(Channel.SMS, PHONE, "Re-bonjour"))
        ).provider_message_id
        await sandbox.flush()
        forms = [sms.parse(r)[0] for r in relay.at("/webhooks/twilio/inbound")]
        assert [f.extra.get("OptOutType") for f in forms] == ["STOP", None, "START"]
    finally:
        await sms.close()


@pytest.mark.parametrize("name", ["twilio_whatsapp", "meta_whatsapp"])
async def test_templates_pass_outside_the_window_free_text_does_not(sandbox, relay, name):
    whatsapp = adapter_for(sandbox, relay, name)
    try:
        template = await whatsapp.send(
            OutgoingMessage(Channel.WHATSAPP, OUTSIDE, template=TEMPLATE)
        )
        text = await whatsapp.send(OutgoingMessage(Channel.WHATSAPP, OUTSIDE, "Bonjour"))
        await sandbox.flush()
        events = statuses(whatsapp, relay)
        by_id: dict[str, list[StatusUpdate]] = {}
        for event in events:
            by_id.setdefault(event.provider_message_id, []).append(event)
        assert by_id[template.provider_message_id][-1].status is MessageStatus.READ
        refused = by_id[text.provider_message_id][-1]
        assert refused.status is MessageStatus.FAILED
        assert refused.error_code == ("63016" if name == "twilio_whatsapp" else "131047")
    finally:
        await whatsapp.close()


#: provider → (adapter name, address) used to send once.
TARGETS = {
    "twilio": ("twilio_whatsapp", PHONE),
    "sendgrid": ("sendgrid", "prospect@prospects.test"),
    "telegram": ("telegram", "7003"),
    "meta": ("meta_whatsapp", PHONE),
    "vapi": ("vapi", PHONE),
}
#: what the adapter sees: an exception of this kind with this code, or a final status.
EXPECTED = {
    ("twilio", "invalid_number"): (PermanentProviderError, "21211"),
    ("twilio", "unsubscribed"): (PermanentProviderError, "21610"),
    ("twilio", "outside_window"): (MessageStatus.FAILED, "63016"),
    ("twilio", "rate_limit"): (TransientProviderError, "20429"),
    ("twilio", "server_error"): (TransientProviderError, "20500"),
    ("twilio", "bounce"): (MessageStatus.UNDELIVERED, "30005"),
    ("twilio", "unauthorized"): (PermanentProviderError, "20003"),
    ("sendgrid", "invalid_number"): (PermanentProviderError, "400"),
    ("sendgrid", "unsubscribed"): (MessageStatus.FAILED, "5.0.0"),
    ("sendgrid", "rate_limit"): (TransientProviderError, "429"),
    ("sendgrid", "server_error"): (TransientProviderError, "500"),
    ("sendgrid", "bounce"): (MessageStatus.FAILED, "5.1.1"),
    ("sendgrid", "unauthorized"): (PermanentProviderError, "401"),
    ("telegram", "invalid_number"): (PermanentProviderError, "400"),
    ("telegram", "unsubscribed"): (PermanentProviderError, "403"),
    ("telegram", "rate_limit"): (TransientProviderError, "429"),
    ("telegram", "server_error"): (TransientProviderError, None),
    ("telegram", "unauthorized"): (PermanentProviderError, "401"),
    ("meta", "invalid_number"): (MessageStatus.FAILED, "131026"),
    ("meta", "unsubscribed"): (MessageStatus.FAILED, "131050"),
    ("meta", "outside_window"): (MessageStatus.FAILED, "131047"),
    ("meta", "rate_limit"): (TransientProviderError, "130429"),
    ("meta", "server_error"): (TransientProviderError, "131000"),
    ("meta", "unauthorized"): (PermanentProviderError, "190"),
    ("vapi", "invalid_number"): (PermanentProviderError, None),
    ("vapi", "rate_limit"): (TransientProviderError, None),
    ("vapi", "server_error"): (TransientProviderError, None),
    ("vapi", "unauthorized"): (PermanentProviderError, None),
}
CASES = [(p, k) for p in TARGETS for k in sorted(PROVIDER_FAILURES[p]) if k != "timeout"]


def test_every_failure_a_provider_has_is_expected():
    assert set(CASES) == set(EXPECTED)


@pytest.mark.parametrize(("provider", "kind"), CASES)
async def test_each_injected_failure_changes_what_the_adapter_sees(sandbox, relay, provider, kind):
    name, to = TARGETS[provider]
    adapter = adapter_for(sandbox, relay, name)
    expected, code = EXPECTED[(provider, kind)]
    sandbox.inject(provider, kind)
    message = OutgoingMessage(adapter.channel, to, "Bonjour", subject="Visite")
    try:
        if isinstance(expected, type):
            with pytest.raises(expected) as caught:
                await adapter.send(message)
            if code is not None:
                assert caught.value.code == code
            if kind == "rate_limit":
                assert caught.value.retry_after
            return
        result = await adapter.send(message)
        await sandbox.flush()
        mine = [e for e in statuses(adapter, relay)
                if result.provider_message_id.startswith(e.provider_message_id)
                or e.provider_message_id.startswith(result.provider_message_id)]  # fmt: skip
        assert mine[-1].status is expected and mine[-1].error_code == code
    finally:
        await adapter.close()


def test_unsupported_failures_are_refused(sandbox):
    with pytest.raises(ValueError, match="vapi has no failure 'unsubscribed'"):
        sandbox.inject("vapi", "unsubscribed")
    with pytest.raises(ValueError, match="telegram has no failure 'bounce'"):
        sandbox.inject("telegram", "bounce")


async def test_a_timeout_may_still_send_after_the_client_gave_up(sandbox, relay):
    sms = adapter_for(sandbox, relay, "twilio_sms", timeout=0.2)
    sandbox.hang_seconds, sandbox.timeout_completes = 0.5, 1.0
    try:
        sandbox.inject("twilio", "timeout")
        with pytest.raises(TransientProviderError):
            await sms.send(OutgoingMessage(Channel.SMS, PHONE, "Peut-être envoyé"))
        for _ in range(50):  # the provider finishes the send on its own
            if await sms.recent(PHONE):
                break
            await asyncio.sleep(0.05)
        (sent,) = await sms.recent(PHONE)
        assert sent.raw["body"] == "Peut-être envoyé"
        sandbox.timeout_completes = 0.0
        sandbox.inject("twilio", "timeout")
        with pytest.raises(TransientProviderError):
            await sms.send(OutgoingMessage(Channel.SMS, PHONE, "Perdu"))
        await asyncio.sleep(0.6)
        assert [r.raw["body"] for r in await sms.recent(PHONE)] == ["Peut-être envoyé"]
    finally:
        await sms.close()


async def test_standing_rules_fail_only_their_channel_at_their_rate(sandbox, relay):
    from providers.sandbox.failures import parse_rule

    sandbox.rules.append(parse_rule("server_error:whatsapp@1"))
    sms = adapter_for(sandbox, relay, "twilio_sms")
    whatsapp = adapter_for(sandbox, relay, "twilio_whatsapp")
    try:
        assert await sms.send(OutgoingMessage(Channel.SMS, PHONE, "ok"))
        with pytest.raises(TransientProviderError):
            await whatsapp.send(OutgoingMessage(Channel.WHATSAPP, PHONE, "ko"))
        sandbox.rules[:] = [parse_rule("server_error:whatsapp@0")]
        assert await whatsapp.send(OutgoingMessage(Channel.WHATSAPP, PHONE, "ok"))
    finally:
        await sms.close()
        await whatsapp.close()
    for bad in ("meteor", "rate_limit:fax", "rate_limit@2", "bounce:telegram"):
        with pytest.raises(ValueError):
            parse_rule(bad)


async def test_unknown_routes_answer_in_each_providers_error_format(sandbox):
    async with httpx.AsyncClient() as client:
        answers = {
            name: await client.get(url + "/no/such/route")
            for name, url in sandbox.base_urls.items()
        }
    assert answers["twilio"].json()["code"] == 20404
    assert answers["sendgrid"].json()["errors"][0]["message"] == "resource not found"
    assert answers["telegram"].json() == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found",
    }
    assert answers["meta"].json()["error"]["code"] == 100
    assert answers["vapi"].json()["statusCode"] == 404


async def test_webhook_targets_replace_the_relay_and_sign_for_the_target(sandbox, relay):
    sandbox.webhook_targets["twilio"] = relay.url + "/elsewhere"
    sms = adapter_for(sandbox, relay, "twilio_sms")
    sandbox.twilio.enqueue_inbound(PHONE, sandbox.twilio.sms_number, "Bonjour")
    await sandbox.flush()
    (request,) = relay.at("/elsewhere")
    sms.verify(request)  # the signature covers the target URL
    await sms.close()


async def test_a_fetch_shows_what_the_callbacks_have_said_so_far(sandbox, relay):
    sms = adapter_for(sandbox, relay, "twilio_sms")
    try:
        sent = await sms.send(OutgoingMessage(Channel.SMS, PHONE, "Bonjour"))
        fresh = sandbox.twilio.messages[sent.provider_message_id]
        looked_up = await sms.lookup(sent.provider_message_id)
        assert looked_up is not None and looked_up.status is MessageStatus.QUEUED
        assert fresh["date_sent"] is None
        await sandbox.flush()
        looked_up = await sms.lookup(sent.provider_message_id)
        assert looked_up is not None and looked_up.status is MessageStatus.DELIVERED
        assert fresh["date_sent"] is not None
    finally:
        await sms.close()
