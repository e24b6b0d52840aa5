"""Twilio SMS and WhatsApp: the real twilio SDK against the sandbox over HTTP."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from core.channels.adapter import Attachment, Location, OutgoingMessage, TemplateRef
from core.channels.errors import PermanentProviderError, TransientProviderError
from core.channels.segments import count_segments
from core.domain.enums import Channel, MessageStatus
from providers.sandbox.personas import PERSONAS
from providers.twilio.sms import TwilioSmsAdapter
from providers.twilio.whatsapp import TwilioWhatsAppAdapter

from .conftest import config_for

CONFIRMS = PERSONAS[0]


@pytest.fixture
async def sms(sandbox, relay):
    adapter = TwilioSmsAdapter(config_for(sandbox, relay, "twilio_sms", "twilio", timeout=2.0))
    yield adapter
    await adapter.close()


@pytest.fixture
async def whatsapp(sandbox, relay):
    adapter = TwilioWhatsAppAdapter(
        config_for(sandbox, relay, "twilio_whatsapp", "twilio", timeout=2.0)
    )
    yield adapter
    await adapter.close()


async def test_sms_send_with_media_and_status_callbacks(sandbox, relay, sms):
    # A question: the persona answers it (an acknowledgement would get no answer).
    text = "Bonjour Camille, la visite de jeudi à 10h vous convient-elle ? — répondez OUI ou NON"
    result = await sms.send(
        OutgoingMessage(
            channel=Channel.SMS,
            to=CONFIRMS.phone,
            text=text,
            attachments=(Attachment("plan.png", "image/png", url="https://cdn.test/plan.png"),),
            reference="out-1",
        )
    )
    sent = sandbox.requests("twilio", "Messages.json")[-1]
    assert sent.method == "POST"
    assert sent.body["To"] == [CONFIRMS.phone]
    assert sent.body["From"] == [sandbox.options["twilio_sms"]["from_number"]]
    assert sent.body["Body"] == [text]
    assert sent.body["MediaUrl"] == ["https://cdn.test/plan.png"]
    assert sent.body["StatusCallback"] == [relay.url + "/webhooks/twilio/status?ref=out-1"]
    assert result.provider_message_id.startswith("MM")
    assert result.status is MessageStatus.QUEUED
    assert count_segments(text).segments == 2  # the em dash makes it UCS-2, over 70 units
    assert result.segments == 2
    assert result.cost == Decimal("0.10")

    await sandbox.flush()
    statuses = relay.at("/webhooks/twilio/status")
    assert len(statuses) == 2  # Twilio posts no callback for "queued": the create said it
    events = []
    for request in statuses:
        sms.verify(request)
        events.extend(sms.parse(request))
    assert [e.status for e in events] == [MessageStatus.SENT, MessageStatus.DELIVERED]
    assert {e.reference for e in events} == {"out-1"}
    assert sms.dedupe_keys(statuses[1]) == [f"twilio:{result.provider_message_id}:delivered"]

    replies = relay.at("/webhooks/twilio/inbound")
    assert len(replies) == 1
    sms.verify(replies[0])
    (reply,) = sms.parse(replies[0])
    assert reply.channel is Channel.SMS and reply.sender == CONFIRMS.phone and reply.text == "OUI"

    looked_up = await sms.lookup(result.provider_message_id)
    assert looked_up is not None and looked_up.status is MessageStatus.DELIVERED
    assert await sms.lookup("SM" + "0" * 32) is None
    listed = await sms.recent(CONFIRMS.phone)
    assert [r.provider_message_id for r in listed] == [result.provider_message_id]
    # what the outbox matches an interrupted send on
    assert listed[0].raw["body"] and listed[0].raw["date_created"].tzinfo is not None


@pytest.mark.parametrize(
    ("failure", "code", "kind"),
    [
        ("invalid_number", "21211", PermanentProviderError),
        ("unsubscribed", "21610", PermanentProviderError),
        ("server_error", "20500", TransientProviderError),
    ],
)
async def test_sms_errors_are_typed(sandbox, sms, failure, code, kind):
    sandbox.inject("twilio", failure)
    with pytest.raises(kind) as caught:
        await sms.send(OutgoingMessage(channel=Channel.SMS, to=CONFIRMS.phone, text="x"))
    assert caught.value.code == code


async def test_sms_rate_limit_carries_retry_after(sandbox, sms):
    sandbox.inject("twilio", "rate_limit")
    with pytest.raises(TransientProviderError) as caught:
        await sms.send(OutgoingMessage(channel=Channel.SMS, to=CONFIRMS.phone, text="x"))
    assert caught.value.code == "20429" and caught.value.retry_after == 2.0


async def test_sms_timeout_is_transient(sandbox, sms):
    sandbox.inject("twilio", "timeout")
    sandbox.hang_seconds = 5
    with pytest.raises(TransientProviderError):
        await sms.send(OutgoingMessage(channel=Channel.SMS, to=CONFIRMS.phone, text="x"))


async def test_malformed_number_is_21211(sms):
    with pytest.raises(PermanentProviderError) as caught:
        await sms.send(OutgoingMessage(channel=Channel.SMS, to="0612", text="x"))
    assert caught.value.code == "21211"


async def test_wrong_credentials_get_twilio_401(sandbox, relay):
    config = config_for(sandbox, relay, "twilio_sms", "twilio")
    bad = TwilioSmsAdapter(
        dataclasses.replace(config, credentials={**config.credentials, "auth_token": "nope"})
    )
    try:
        with pytest.raises(PermanentProviderError) as caught:
            await bad.check_connection()
        assert caught.value.code == "20003" and caught.value.status == 401
    finally:
        await bad.close()


async def test_whatsapp_text_location_template_and_read(sandbox, relay, whatsapp):
    result = await whatsapp.send(
        OutgoingMessage(channel=Channel.WHATSAPP, to=CONFIRMS.phone, text="Bonjour")
    )
    create = sandbox.requests("twilio", "Messages.json")[-1].body
    assert create["To"] == [f"whatsapp:{CONFIRMS.phone}"]
    assert create["From"] == ["whatsapp:" + sandbox.options["twilio_whatsapp"]["from_number"]]
    assert result.cost == Decimal("0.01")

    await whatsapp.send(
        OutgoingMessage(
            channel=Channel.WHATSAPP,
            to=CONFIRMS.phone,
            location=Location(48.85, 2.35, name="Agence"),
        )
    )
    create = sandbox.requests("twilio", "Messages.json")[-1].body
    assert create["PersistentAction"] == ["geo:48.85,2.35|Agence"]

    await whatsapp.send(
        OutgoingMessage(
            channel=Channel.WHATSAPP,
            to=CONFIRMS.phone,
            template=TemplateRef(
                name="rdv", parameters=("Ana", "jeudi"), content_sid="HX" + "1" * 32
            ),
        )
    )
    create = sandbox.requests("twilio", "Messages.json")[-1].body
    assert create["ContentSid"] == ["HX" + "1" * 32]
    assert create["ContentVariables"] == ['{"1": "Ana", "2": "jeudi"}']
    assert "Body" not in create

    await sandbox.flush()
    statuses = [e for r in relay.at("/webhooks/twilio/status") for e in whatsapp.parse(r)]
    first = [e for e in statuses if e.provider_message_id == result.provider_message_id]
    assert [e.status for e in first][-1] is MessageStatus.READ
    assert all(e.channel is Channel.WHATSAPP for e in statuses)
    inbound = [e for r in relay.at("/webhooks/twilio/inbound") for e in whatsapp.parse(r)]
    assert inbound[0].sender == CONFIRMS.phone and inbound[0].sender_name == CONFIRMS.name


async def test_whatsapp_outside_window_fails_asynchronously(sandbox, relay, whatsapp):
    sandbox.inject("twilio", "outside_window")
    result = await whatsapp.send(
        OutgoingMessage(channel=Channel.WHATSAPP, to=CONFIRMS.phone, text="hello")
    )
    await sandbox.flush()
    events = [e for r in relay.at("/webhooks/twilio/status") for e in whatsapp.parse(r)]
    assert events[-1].provider_message_id == result.provider_message_id
    assert events[-1].status is MessageStatus.FAILED and events[-1].error_code == "63016"


async def test_whatsapp_inbound_media_location_profile(sandbox, relay, whatsapp):
    sandbox.twilio.enqueue_inbound(
        "+33612000004",
        "+33700000002",
        "Voici",
        whatsapp=True,
        profile_name="Nina",
        media=["https://api.twilio.test/m/ME1"],
    )
    sandbox.twilio.enqueue_inbound(
        "+33612000004", "+33700000002", "", whatsapp=True, location=(48.1, 2.2, "Maison")
    )
    sandbox.twilio.enqueue_inbound("+33612000005", "+33700000001", "STOP", opt_out="STOP")
    await sandbox.flush()
    photo, place, stop = (whatsapp.parse(r)[0] for r in relay.at("/webhooks/twilio/inbound"))
    for request in relay.at("/webhooks/twilio/inbound"):
        whatsapp.verify(request)
    assert photo.attachments[0].url == "https://api.twilio.test/m/ME1"
    assert photo.attachments[0].content_type == "image/png" and photo.sender_name == "Nina"
    assert (
        place.location is not None
        and place.location.latitude == 48.1
        and place.location.name == "Maison"
    )
    assert stop.channel is Channel.SMS and stop.extra["OptOutType"] == "STOP"
