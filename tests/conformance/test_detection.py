"""The checks catch the differences the issue found (so the suite cannot pass with them back),
and the spec notes forgive only what the providers' own examples show."""

from __future__ import annotations

import json

import pytest

from tests.conformance import reference
from tests.conformance.conftest import spec
from tests.conformance.openapi import SPECS, pointer
from tests.conformance.spec_notes import (
    META_SPEC,
    example_failures,
    message_schema,
    meta_judge,
    webhook_defect,
)

SMS_DELIVERED = {
    "AccountSid": "AC" + "1" * 32,
    "ApiVersion": "2010-04-01",
    "From": "+33700000001",
    "MessageSid": "SM" + "2" * 32,
    "MessageStatus": "delivered",
    "SmsSid": "SM" + "2" * 32,
    "SmsStatus": "delivered",
    "To": "+33612000001",
    "RawDlrDoneDate": "2612060355",
}


def test_twilio_status_differences_are_caught() -> None:
    assert reference.twilio_status(SMS_DELIVERED) == []
    no_dlr = {k: v for k, v in SMS_DELIVERED.items() if k != "RawDlrDoneDate"}
    assert reference.twilio_status(no_dlr) == ["RawDlrDoneDate: missing"]
    queued = {**no_dlr, "MessageStatus": "queued", "SmsStatus": "queued"}
    assert any("no callback" in d for d in reference.twilio_status(queued))
    whatsapp = {
        **no_dlr,
        "To": "whatsapp:+33612000001",
        "MessageStatus": "failed",
        "SmsStatus": "failed",
        "ErrorCode": "63016",
        "ChannelPrefix": "whatsapp",
        "ChannelToAddress": "+33612000001",
    }
    found = reference.twilio_status(whatsapp)
    assert {
        "ChannelInstallSid: missing",
        "EventType: missing",
        "ChannelStatusMessage: missing",
    } <= set(found)


def test_twilio_inbound_media_must_name_the_inbound_message() -> None:
    base = "http://x/2010-04-01/Accounts/AC" + "1" * 32
    form = {k: "" for k in reference.TWILIO_INBOUND_REQUIRED} | {
        "MessageSid": "MM" + "3" * 32,
        "SmsSid": "MM" + "3" * 32,
        "SmsMessageSid": "MM" + "3" * 32,
        "AccountSid": "AC" + "1" * 32,
        "SmsStatus": "received",
        "NumMedia": "1",
        "MediaContentType0": "image/png",
        "MediaUrl0": f"{base}/Messages/SM{'4' * 32}/Media/ME{'5' * 32}",
    }
    assert any("is not a media of message" in d for d in reference.twilio_inbound(form, base))


def test_sendgrid_event_and_error_differences_are_caught() -> None:
    opened = {
        "email": "a@b.c",
        "timestamp": 1,
        "event": "open",
        "sg_event_id": "e",
        "sg_message_id": "m",
    }
    assert set(reference.sendgrid_event(opened, set())) == {
        "useragent: missing",
        "ip: missing",
        "sg_machine_open: missing",
    }
    assert reference.sendgrid_event({**opened, "reference": "r"}, set())[-1].startswith("reference")
    assert reference.error_body("sendgrid", 401, {"errors": [{"message": "x", "field": None}]}) == [
        "errors[0].help: missing",
        "errors[0].field: not a string",
    ]


def test_meta_error_differences_are_caught() -> None:
    body = {"error": {"message": "x", "type": "OAuthException", "code": 190}}
    found = reference.error_body("meta", 401, body)
    assert {
        "error.error_subcode: missing or not int",
        "error.fbtrace_id: missing or not str",
        "error.error_data.details: missing",
    } <= set(found)


def test_meta_spec_notes_need_evidence_and_forgive_nothing_else() -> None:
    api = spec(META_SPEC)
    assert sum(map(len, example_failures(api).values())) >= 20  # Meta's own examples fail
    judge = meta_judge(api)
    text = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "1",
        "type": "text",
        "text": {"body": "x"},
    }
    assert all(judge(e) for e in api.errors(message_schema(api, text), text))
    tracked = {**text, "biz_opaque_callback_data": "ref"}
    assert not all(judge(e) for e in api.errors(message_schema(api, tracked), tracked))
    place = {**text, "type": "location", "location": {"latitude": 48.8, "longitude": 2.3}}
    del place["text"]
    assert not all(judge(e) for e in api.errors(message_schema(api, place), place))
    template = {**text, "type": "template", "template": {"name": "t", "language": {"code": "fr"}}}
    del template["text"]
    assert api.errors(message_schema(api, template), template)  # language.policy is required


def test_meta_webhook_notes_match_meta_examples_only() -> None:
    api = spec(META_SPEC)
    at = pointer("components", "schemas", "WebhookPayload")
    examples = json.loads(
        (SPECS / "webhook-samples/whatsapp/meta_openapi_v23_webhook_examples.json").read_text()
    )
    text = examples["Text Message"]
    errors = api.errors(at, text)
    assert errors and all(webhook_defect(e) for e in errors)  # Meta's own example: forgiven
    status = json.loads((SPECS / "webhook-samples/whatsapp/pywa/message_status.json").read_text())
    broken = status["sent"]
    del broken["entry"][0]["changes"][0]["value"]["statuses"][0]["id"]
    errors = api.errors(at, broken)
    assert errors and not all(webhook_defect(e) for e in errors)


def test_vapi_model_differences_are_caught() -> None:
    pytest.importorskip("vapi.types.call", reason="vapi-server-sdk (test extra)")
    from vapi.types.call import Call
    from vapi.types.server_message_end_of_call_report import ServerMessageEndOfCallReport

    from tests.conformance.test_vapi import validate

    assert validate(Call, {"id": "c", "type": "outboundPhoneCall"}, "call")
    report = {
        "type": "end-of-call-report",
        "endedReason": "customer-ended-call",
        "artifact": {},
        "analysis": {},
        "durationSeconds": 42,
    }
    assert validate(ServerMessageEndOfCallReport, report, "message") == [
        "message.durationSeconds: not in ServerMessageEndOfCallReport"
    ]
