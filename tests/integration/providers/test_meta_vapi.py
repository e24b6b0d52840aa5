"""Meta WhatsApp Cloud API and VAPI: the httpx adapters against the sandbox."""

from __future__ import annotations

import dataclasses

import pytest

from core.channels.adapter import (
    Attachment,
    Button,
    CallReport,
    InboundMessage,
    Location,
    OutgoingMessage,
    TemplateRef,
)
from core.channels.errors import PermanentProviderError, SignatureError, TransientProviderError
from core.domain.enums import Channel, MessageStatus
from providers.meta.adapter import MetaWhatsAppAdapter
from providers.sandbox.personas import PERSONAS
from providers.vapi.adapter import VapiAdapter

from .conftest import config_for

CONFIRMS, CANCELS = PERSONAS[:2]
CALLS = PERSONAS[5]


@pytest.fixture
async def meta(sandbox, relay):
    adapter = MetaWhatsAppAdapter(config_for(sandbox, relay, "meta_whatsapp", "meta", timeout=2.0))
    yield adapter
    await adapter.close()


@pytest.fixture
async def vapi(sandbox, relay):
    adapter = VapiAdapter(config_for(sandbox, relay, "vapi", "vapi", timeout=2.0))
    yield adapter
    await adapter.close()


def wa(**kw):
    return OutgoingMessage(channel=Channel.WHATSAPP, to=CANCELS.phone, **kw)


async def test_meta_send_kinds(sandbox, meta):
    await meta.check_connection()
    result = await meta.send(wa(text="Bonjour"))
    assert result.provider_message_id.startswith("wamid.")
    request = sandbox.requests("meta", "/messages")[-1]
    assert request.path == f"/meta/v23.0/{sandbox.meta.phone_number_id}/messages"
    assert request.body == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": CANCELS.phone[1:],
        "type": "text",
        "text": {"body": "Bonjour", "preview_url": False},
    }
    await meta.send(
        wa(template=TemplateRef(name="rdv_rappel", language="fr", parameters=("Hugo",)))
    )
    assert sandbox.requests("meta", "/messages")[-1].body["template"] == {
        "name": "rdv_rappel",
        "language": {"policy": "deterministic", "code": "fr"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Hugo"}]}],
    }
    await meta.send(
        wa(
            text="Le plan",
            attachments=(Attachment("p.jpg", "image/jpeg", url="https://cdn.test/p.jpg"),),
        )
    )
    assert sandbox.requests("meta", "/messages")[-1].body["image"] == {
        "link": "https://cdn.test/p.jpg",
        "caption": "Le plan",
    }
    await meta.send(
        wa(attachments=(Attachment("bail.pdf", "application/pdf", url="https://cdn.test/b.pdf"),))
    )
    assert sandbox.requests("meta", "/messages")[-1].body["document"]["filename"] == "bail.pdf"
    await meta.send(wa(location=Location(48.8, 2.3, name="Agence", address="1 rue X")))
    assert sandbox.requests("meta", "/messages")[-1].body["location"]["name"] == "Agence"
    with pytest.raises(PermanentProviderError):
        await meta.send(wa(text="?", buttons=tuple(Button(str(i), str(i)) for i in range(4))))
    await meta.mark_read("wamid.ABC")
    assert sandbox.meta.read == ["wamid.ABC"]


async def test_meta_buttons_statuses_and_signature(sandbox, relay, meta):
    result = await meta.send(
        OutgoingMessage(
            channel=Channel.WHATSAPP,
            to=CONFIRMS.phone,
            text="On confirme ?",
            buttons=(Button("yes", "Oui"), Button("no", "Non")),
            reference="out-7",
        )
    )
    assert sandbox.requests("meta", "/messages")[-1].body["interactive"]["action"]["buttons"][
        1
    ] == {
        "type": "reply",
        "reply": {"id": "no", "title": "Non"},
    }
    await sandbox.flush()
    events = []
    for request in relay.at("/webhooks/meta"):
        meta.verify(request)
        events.extend(meta.parse(request))
    statuses = [e.status for e in events if not isinstance(e, InboundMessage)]
    assert statuses == [MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ]
    # the spec declares biz_opaque_callback_data for templates only: matched by wamid here
    assert {e.reference for e in events if not isinstance(e, InboundMessage)} == {None}
    (reply,) = [e for e in events if isinstance(e, InboundMessage)]
    assert (
        reply.button_payload == "yes"
        and reply.sender == CONFIRMS.phone
        and reply.in_reply_to == result.provider_message_id
    )
    request = relay.at("/webhooks/meta")[0]
    tampered = dataclasses.replace(request, body=request.body.replace(b"sent", b"read"))
    with pytest.raises(SignatureError):
        meta.verify(tampered)
    assert (
        meta.answer_challenge(
            {
                "hub.mode": "subscribe",
                "hub.verify_token": "sandbox-verify-token",
                "hub.challenge": "42",
            }
        )
        == "42"
    )
    with pytest.raises(SignatureError):
        meta.answer_challenge(
            {"hub.mode": "subscribe", "hub.verify_token": "x", "hub.challenge": "42"}
        )


async def test_meta_errors(sandbox, relay, meta):
    sandbox.inject("meta", "rate_limit")
    with pytest.raises(TransientProviderError) as caught:
        await meta.send(wa(text="x"))
    assert caught.value.code == "130429"
    sandbox.inject("meta", "outside_window")
    await meta.send(wa(text="x"))
    await sandbox.flush()
    failed = [
        e
        for r in relay.at("/webhooks/meta")
        for e in meta.parse(r)
        if e.status is MessageStatus.FAILED
    ]
    assert failed[0].error_code == "131047"
    config = config_for(sandbox, relay, "meta_whatsapp", "meta")
    bad = MetaWhatsAppAdapter(
        dataclasses.replace(config, credentials={**config.credentials, "access_token": "no"})
    )
    try:
        with pytest.raises(PermanentProviderError) as caught:
            await bad.send(wa(text="x"))
        assert caught.value.code == "190" and caught.value.status == 401
    finally:
        await bad.close()


async def test_vapi_call_and_report(sandbox, relay, vapi):
    call_id = await vapi.start_call(CALLS.phone, CALLS.name)
    body = sandbox.requests("vapi", "/call")[-1].body
    assert body == {
        "assistantId": sandbox.vapi.assistant_id,
        "phoneNumberId": sandbox.vapi.phone_number_id,
        "customer": {"number": CALLS.phone, "name": CALLS.name},
    }
    await sandbox.flush()
    reports = []
    for request in relay.at("/webhooks/vapi"):
        vapi.verify(request)
        reports.extend(vapi.parse(request))
    assert [r.status for r in reports] == ["ringing", "in-progress", "ended", "ended"]
    final = reports[-1]
    assert isinstance(final, CallReport) and final.final and final.provider_call_id == call_id
    assert final.duration_seconds == 42.0 and "confirme" in (final.summary or "")
    assert final.recording_url and final.transcript and str(final.cost) == "0.12"
    assert final.phone == CALLS.phone and final.direction == "outbound"
    assert (await vapi.get_call(call_id))["status"] == "ended"
    keys = {k for r in relay.at("/webhooks/vapi") for k in vapi.dedupe_keys(r)}
    assert len(keys) == 4

    request = relay.at("/webhooks/vapi")[0]
    bearer = dataclasses.replace(request, headers={"authorization": "Bearer sandbox-vapi-secret"})
    vapi.verify(bearer)
    with pytest.raises(SignatureError):
        vapi.verify(dataclasses.replace(request, headers={"x-vapi-secret": "nope"}))
    sandbox.inject("vapi", "server_error")
    with pytest.raises(TransientProviderError):
        await vapi.start_call(CALLS.phone)
