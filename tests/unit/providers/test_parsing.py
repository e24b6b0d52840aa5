"""Parsing real webhook samples, and refusing bad input with the field named."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest

from core.channels.adapter import InboundMessage, StatusUpdate
from core.channels.errors import MalformedWebhook
from core.domain.enums import Channel, MessageStatus
from providers.meta.adapter import MetaWhatsAppAdapter
from providers.sendgrid.adapter import SendGridAdapter
from providers.telegram.adapter import TelegramAdapter
from providers.twilio.whatsapp import TwilioWhatsAppAdapter
from providers.vapi.adapter import VapiAdapter

from .helpers import config, request

#: Meta's published webhook samples, copied into the project with their provenance.
SAMPLES = Path(__file__).parents[2] / "conformance" / "specs" / "webhook-samples" / "whatsapp"
needs_samples = pytest.mark.skipif(
    not SAMPLES.exists(), reason="shared webhook samples not present"
)


def meta() -> MetaWhatsAppAdapter:
    return MetaWhatsAppAdapter(config(access_token="t", app_secret="s", verify_token="v"))


def sample(file: str) -> dict:
    return json.loads((SAMPLES / file).read_text())


@needs_samples
def test_meta_official_examples():
    examples = sample("meta_openapi_v23_webhook_examples.json")
    (text,) = meta().parse(request(json.dumps(examples["Text Message"]).encode()))
    assert text.text == "Does it come in another color?" and text.sender == "+16505551234"
    assert text.sender_name == "Sheena Nelson" and text.occurred_at is not None
    (image,) = meta().parse(request(json.dumps(examples["Image Message"]).encode()))
    assert image.attachments[0].content_type.startswith("image/") and image.extra["media_id"]
    (place,) = meta().parse(request(json.dumps(examples["Location Message"]).encode()))
    assert place.location is not None and place.location.latitude
    (tap,) = meta().parse(
        request(json.dumps(examples["Interactive Button Reply Message"]).encode())
    )
    assert tap.button_payload and tap.text
    (button,) = meta().parse(request(json.dumps(examples["Button Message"]).encode()))
    assert button.button_payload
    for name, payload in examples.items():  # every example reads without error
        events = meta().parse(request(json.dumps(payload).encode()))
        assert all(isinstance(e, InboundMessage) for e in events), name


@needs_samples
def test_meta_status_samples():
    statuses = sample("pywa/message_status.json")
    for name, expected in [
        ("sent", MessageStatus.SENT),
        ("delivered", MessageStatus.DELIVERED),
        ("read", MessageStatus.READ),
    ]:
        (event,) = meta().parse(request(json.dumps(statuses[name]).encode()))
        assert isinstance(event, StatusUpdate) and event.status is expected
    (failed,) = meta().parse(request(json.dumps(statuses["failed"]).encode()))
    assert failed.status is MessageStatus.FAILED and failed.error_code == "130472"
    assert meta().dedupe_keys(request(json.dumps(statuses["failed"]).encode())) == [
        "meta:wamid.xyzxyz:failed"
    ]


@needs_samples
def test_meta_pywa_messages_all_read():
    for name, payload in sample("pywa/message.json").items():
        for event in meta().parse(request(json.dumps(payload).encode())):
            assert event.provider_message_id, name


def test_meta_missing_sender_is_named():
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "changes": [
                    {
                        "field": "messages",
                        "value": {"messages": [{"id": "wamid.1", "type": "text"}]},
                    }
                ]
            }
        ],
    }
    with pytest.raises(MalformedWebhook, match=r"messages\[0\]\.from"):
        meta().parse(request(json.dumps(body).encode()))


def twilio_form(**fields: str) -> bytes:
    return urlencode(fields).encode()


def test_twilio_whatsapp_inbound_fields_and_unknown_ignored():
    adapter = TwilioWhatsAppAdapter(config(account_sid="AC1", auth_token="t"))
    body = twilio_form(
        MessageSid="SM1",
        From="whatsapp:+33612000001",
        To="whatsapp:+33700000002",
        Body="Oui",
        ProfileName="Camille",
        WaId="33612000001",
        ButtonPayload="confirm",
        ButtonText="Oui",
        NumMedia="1",
        MediaUrl0="https://api.twilio.com/x/Media/ME1",
        MediaContentType0="image/png",
        SomethingNew="ignored",
    )
    (event,) = adapter.parse(request(body))
    assert event.channel is Channel.WHATSAPP and event.sender == "+33612000001"
    assert event.sender_name == "Camille" and event.button_payload == "confirm"
    assert event.attachments[0].content_type == "image/png"
    # Twilio gives no file name: none rather than the media SID (the app names it by its type)
    assert event.attachments[0].filename == ""
    assert "SomethingNew" not in event.extra


def test_twilio_missing_fields_are_named():
    adapter = TwilioWhatsAppAdapter(config(account_sid="AC1", auth_token="t"))
    with pytest.raises(MalformedWebhook, match="MessageSid"):
        adapter.parse(request(twilio_form(From="+33612000001", Body="x")))
    with pytest.raises(MalformedWebhook, match="From"):
        adapter.parse(request(twilio_form(MessageSid="SM1", Body="x")))
    with pytest.raises(MalformedWebhook, match="MessageSid"):
        adapter.dedupe_keys(request(twilio_form(MessageStatus="sent")))
    with pytest.raises(MalformedWebhook, match="UTF-8"):
        adapter.parse(request(b"Body=\xff\xfe"))


def test_twilio_status_with_error_code():
    adapter = TwilioWhatsAppAdapter(config(account_sid="AC1", auth_token="t"))
    body = twilio_form(
        MessageSid="SM2",
        MessageStatus="undelivered",
        ErrorCode="30003",
        To="+33612000001",
        From="+33700000001",
    )
    (event,) = adapter.parse(request(body))
    assert (
        event.status is MessageStatus.UNDELIVERED
        and event.error_code == "30003"
        and event.channel is Channel.SMS
    )


def test_sendgrid_events_bad_input():
    adapter = SendGridAdapter(config(api_key="k"))
    with pytest.raises(MalformedWebhook, match="array"):
        adapter.parse(request(b'{"event": "open"}'))
    with pytest.raises(MalformedWebhook, match=r"\[1\]\.sg_message_id"):
        adapter.parse(request(b'[{"event":"open","sg_message_id":"m"},{"event":"open"}]'))
    with pytest.raises(MalformedWebhook, match="JSON"):
        adapter.parse(request(b"[{"))
    events = adapter.parse(
        request(
            b'[{"event":"group_resubscribe","sg_message_id":"m"},{"event":"click","sg_message_id":"m.1","url":"https://x","new":1,"category":"a"}]'
        )
    )
    assert len(events) == 1 and events[0].kind == "click" and events[0].url == "https://x"


def test_sendgrid_inbound_missing_from_is_named():
    adapter = SendGridAdapter(config(api_key="k", inbound_secret="s"))
    body = b'--b\r\nContent-Disposition: form-data; name="text"\r\n\r\nhello\r\n--b--\r\n'
    with pytest.raises(MalformedWebhook, match="from"):
        adapter.parse(request(body, content_type="multipart/form-data; boundary=b"))


def test_telegram_bad_and_unknown_updates():
    adapter = TelegramAdapter(config(bot_token="42:a", webhook_secret="s"))
    with pytest.raises(MalformedWebhook, match="update_id"):
        adapter.parse(request(b'{"message": {}}'))
    with pytest.raises(MalformedWebhook, match=r"message\.chat"):
        adapter.parse(request(b'{"update_id": 1, "message": {"message_id": 1}}'))
    assert adapter.parse(request(b'{"update_id": 2, "my_chat_member": {}}')) == []
    assert adapter.dedupe_keys(request(b'{"update_id": 2}')) == ["telegram:42:2"]
    doc = {
        "update_id": 3,
        "message": {
            "message_id": 7,
            "chat": {"id": 9, "type": "private"},
            "date": 1,
            "document": {
                "file_id": "F",
                "file_unique_id": "U",
                "file_name": "a.pdf",
                "mime_type": "application/pdf",
            },
            "location": {"latitude": 1.5, "longitude": 2.5},
        },
    }
    (event,) = adapter.parse(request(json.dumps(doc).encode()))
    assert event.attachments[0].filename == "a.pdf" and event.location.longitude == 2.5
    wrong = {**doc, "message": {**doc["message"], "from": True}}
    with pytest.raises(MalformedWebhook, match=r"message\.from"):
        adapter.parse(request(json.dumps(wrong).encode()))


def test_vapi_legacy_placement_and_bad_input():
    adapter = VapiAdapter(config(api_key="k", webhook_secret="s"))
    legacy = {
        "message": {
            "type": "end-of-call-report",
            "call": {"id": "c1"},
            "transcript": "AI: hi",
            "summary": "ok",
            "recordingUrl": "https://r",
            "endedReason": "voicemail",
        }
    }
    (report,) = adapter.parse(request(json.dumps(legacy).encode()))
    assert (
        report.transcript == "AI: hi"
        and report.summary == "ok"
        and report.recording_url == "https://r"
    )
    assert (
        adapter.parse(request(b'{"message": {"type": "transcript", "call": {"id": "c1"}}}')) == []
    )
    with pytest.raises(MalformedWebhook, match=r"message\.call\.id"):
        adapter.parse(request(b'{"message": {"type": "status-update", "call": {}}}'))
    with pytest.raises(MalformedWebhook, match="message"):
        adapter.parse(request(b'{"other": 1}'))


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"customer": True}, "customer"),
        ({"analysis": ["summary"]}, "analysis"),
        ({"artifact": "x"}, "artifact"),
        ({"durationSeconds": "long"}, "durationSeconds"),
        ({"summary": {"text": "ok"}}, "summary"),
        ({"customer": {"number": ["+33612345678"]}}, "customer.number"),
    ],
)
def test_vapi_fields_of_the_wrong_shape_are_malformed_not_a_crash(extra, field):
    """Found by the relay fuzz test: a 500 (AttributeError) instead of a clear 400."""
    adapter = VapiAdapter(config(api_key="k", webhook_secret="s"))
    doc = {"message": {"type": "end-of-call-report", "call": {"id": "c1"}, **extra}}
    with pytest.raises(MalformedWebhook, match=field):
        adapter.parse(request(json.dumps(doc).encode()))
    with pytest.raises(MalformedWebhook, match=r"message\.call"):
        adapter.dedupe_keys(request(b'{"message": {"type": "status-update", "call": [1]}}'))


def test_sendgrid_inbound_raw_mode_in_latin1():
    from email.message import EmailMessage

    mime = EmailMessage()
    mime["From"] = "Zoé <zoe@prospects.test>"
    mime["To"] = "agence@coccinelle.test"
    mime["Subject"] = "Re: Visite"
    mime["Message-ID"] = "<z1@prospects.test>"
    mime["In-Reply-To"] = "<a1@coccinelle.test>"
    mime.set_content("Très bien, merci.", charset="iso-8859-1")
    mime.add_attachment(b"rdc", maintype="text", subtype="plain", filename="plan.txt")
    raw = mime.as_bytes()
    body = (
        b'--b\r\nContent-Disposition: form-data; name="from"\r\n\r\nzoe@prospects.test\r\n'
        b'--b\r\nContent-Disposition: form-data; name="email"\r\n\r\n' + raw + b"\r\n--b--\r\n"
    )
    adapter = SendGridAdapter(config(api_key="k", inbound_secret="s"))
    (event,) = adapter.parse(request(body, content_type="multipart/form-data; boundary=b"))
    assert event.text.strip() == "Très bien, merci."
    assert event.sender == "zoe@prospects.test" and event.sender_name == "Zoé"
    assert event.in_reply_to == "<a1@coccinelle.test>"
    assert event.attachments[0].filename == "plan.txt" and event.attachments[0].content == b"rdc"


def test_sendgrid_inbound_attached_email_keeps_its_content():
    """An attached e-mail (message/rfc822) is a container to Python: decoding its payload gives
    None, which once stored a 0-byte attachment."""
    from email.message import EmailMessage

    forwarded = EmailMessage()
    forwarded["From"] = "notaire@etude.test"
    forwarded["Subject"] = "Compromis"
    forwarded.set_content("Le compromis est prêt.")
    mime = EmailMessage()
    mime["From"] = "zoe@prospects.test"
    mime["To"] = "agence@coccinelle.test"
    mime["Message-ID"] = "<z2@prospects.test>"
    mime.set_content("Voir le message joint.")
    mime.add_attachment(forwarded)
    body = (
        b'--b\r\nContent-Disposition: form-data; name="email"\r\n\r\n'
        + mime.as_bytes()
        + b"\r\n--b--\r\n"
    )
    adapter = SendGridAdapter(config(api_key="k", inbound_secret="s"))
    (event,) = adapter.parse(request(body, content_type="multipart/form-data; boundary=b"))
    (attached,) = event.attachments
    assert attached.content_type == "message/rfc822"
    assert b"Subject: Compromis" in attached.content and b"compromis est pr" in attached.content


async def test_an_adapter_that_cannot_set_its_webhook_says_so():
    """Only Telegram's webhook is set by API: any other adapter refuses with a provider error
    (which the engine logs), not an AttributeError."""
    from core.channels.errors import PermanentProviderError

    adapter = SendGridAdapter(config(api_key="k", inbound_secret="s"))
    with pytest.raises(PermanentProviderError, match="cannot set its webhook"):
        await adapter.set_webhook("https://relay.test/webhooks/sendgrid")
