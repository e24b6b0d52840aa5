"""SendGrid: the real sendgrid SDK against the sandbox; signed events; Inbound Parse."""

from __future__ import annotations

import base64
import dataclasses

import pytest

from core.channels.adapter import Attachment, EngagementEvent, OutgoingMessage, StatusUpdate
from core.channels.errors import PermanentProviderError, SignatureError, TransientProviderError
from core.domain.enums import Channel, MessageStatus
from providers.sandbox.personas import PERSONAS
from providers.sendgrid.adapter import SendGridAdapter

from .conftest import config_for

CONFIRMS = PERSONAS[0]


@pytest.fixture
async def email(sandbox, relay):
    adapter = SendGridAdapter(config_for(sandbox, relay, "sendgrid", "sendgrid", timeout=2.0))
    yield adapter
    await adapter.close()


def mail(**kw):
    base = dict(channel=Channel.EMAIL, to=CONFIRMS.email, subject="Votre visite", text="Bonjour")
    return OutgoingMessage(**{**base, **kw})


async def test_send_html_attachments_threading_and_events(sandbox, relay, email):
    result = await email.send(
        mail(
            html="<p>Bonjour</p>",
            attachments=(Attachment("plan.pdf", "application/pdf", content=b"%PDF-1.4"),),
            reply_to="agent@coccinelle.test",
            in_reply_to="<a1@prospects.test>",
            references=("<a0@prospects.test>", "<a1@prospects.test>"),
            reference="out-42",
        )
    )
    body = sandbox.requests("sendgrid", "/v3/mail/send")[-1].body
    assert body["content"] == [
        {"type": "text/plain", "value": "Bonjour"},
        {"type": "text/html", "value": "<p>Bonjour</p>"},
    ]
    assert body["attachments"][0]["content"] == base64.b64encode(b"%PDF-1.4").decode()
    assert body["reply_to"] == {"email": "agent@coccinelle.test"}
    assert body["headers"] == {
        "In-Reply-To": "<a1@prospects.test>",
        "References": "<a0@prospects.test> <a1@prospects.test>",
    }
    assert body["personalizations"][0]["custom_args"] == {"reference": "out-42"}
    assert sandbox.requests("sendgrid")[-1].headers["authorization"] == "Bearer SG.sandbox.key"
    assert result.provider_message_id in sandbox.sendgrid.mails

    await sandbox.flush()
    (batch,) = relay.at("/webhooks/sendgrid/events")
    email.verify(batch)
    events = email.parse(batch)
    statuses = [e for e in events if isinstance(e, StatusUpdate)]
    assert [e.status for e in statuses] == [MessageStatus.QUEUED, MessageStatus.DELIVERED]
    engagement = [e for e in events if isinstance(e, EngagementEvent)]
    assert [e.kind for e in engagement] == ["open", "click"]
    assert all(e.prefix_match and e.reference == "out-42" for e in events)
    assert all(e.provider_message_id.startswith(result.provider_message_id + ".") for e in events)
    assert len(set(email.dedupe_keys(batch))) == 4

    (reply,) = relay.at("/webhooks/sendgrid/inbound")
    email.verify(reply)
    (inbound,) = email.parse(reply)
    assert inbound.sender == CONFIRMS.email and inbound.text == "OUI"
    assert inbound.subject == "Re: Votre visite"
    assert inbound.in_reply_to == "<a1@prospects.test>"
    assert inbound.extra["references"] == ["<a0@prospects.test>", "<a1@prospects.test>"]


async def test_bounce_becomes_failed_status(sandbox, relay, email):
    await email.send(mail(to="bounce@prospects.test"))
    await sandbox.flush()
    events = email.parse(relay.at("/webhooks/sendgrid/events")[0])
    assert events[-1].status is MessageStatus.FAILED and events[-1].error_code == "5.1.1"


async def test_errors_are_typed(sandbox, relay, email):
    sandbox.inject("sendgrid", "rate_limit")
    with pytest.raises(TransientProviderError) as caught:
        await email.send(mail())
    assert caught.value.retry_after == 3.0 and caught.value.status == 429
    sandbox.inject("sendgrid", "server_error")
    with pytest.raises(TransientProviderError):
        await email.send(mail())
    with pytest.raises(PermanentProviderError) as caught:
        await email.send(mail(subject=""))
    assert caught.value.status == 400 and "subject" in str(caught.value)
    config = config_for(sandbox, relay, "sendgrid", "sendgrid")
    bad = SendGridAdapter(dataclasses.replace(config, credentials={"api_key": "SG.wrong"}))
    with pytest.raises(PermanentProviderError) as caught:
        await bad.send(mail())
    assert caught.value.status == 401
    await email.check_connection()


async def test_inbound_in_latin1_is_decoded_with_attachment(sandbox, relay, email):
    original = {"from": {"email": "agence@coccinelle.test"}, "subject": "Visite à Évry"}
    sandbox.sendgrid.enqueue_inbound(
        "lea@prospects.test",
        "Léa Pétit",
        original,
        "Ça me va très bien, à jeudi.",
        charset="iso-8859-1",
        attachments=(("plan.txt", "text/plain", b"rdc"),),
    )
    await sandbox.flush()
    (request,) = relay.at("/webhooks/sendgrid/inbound")
    assert "Ça".encode("iso-8859-1") in request.body
    email.verify(request)
    (inbound,) = email.parse(request)
    assert inbound.text == "Ça me va très bien, à jeudi."
    assert inbound.subject == "Re: Visite à Évry"
    assert inbound.sender_name == "Léa Pétit"
    assert (
        inbound.attachments[0].filename == "plan.txt" and inbound.attachments[0].content == b"rdc"
    )


async def test_inbound_wrong_basic_auth_is_refused(sandbox, relay, email):
    sandbox.sendgrid.enqueue_inbound("x@prospects.test", "X", {"from": {"email": "a@b.c"}}, "hi")
    await sandbox.flush()
    (request,) = relay.at("/webhooks/sendgrid/inbound")
    forged = dataclasses.replace(
        request,
        headers={
            **request.headers,
            "authorization": "Basic " + base64.b64encode(b"inbound:guess").decode(),
        },
    )
    with pytest.raises(SignatureError):
        email.verify(forged)
    unsigned = dataclasses.replace(
        request, headers={k: v for k, v in request.headers.items() if k != "authorization"}
    )
    with pytest.raises(SignatureError, match="Authorization"):
        email.verify(unsigned)


async def test_batched_events_of_several_sends_come_in_one_signed_post(sandbox, relay, email):
    sandbox.sendgrid.batch_events = True  # as SendGrid posts them (the end-to-end bench)
    first = await email.send(mail(reference="out-1"))
    second = await email.send(mail(to="bounce@prospects.test", reference="out-2"))
    await sandbox.flush()
    (batch,) = relay.at("/webhooks/sendgrid/events")
    email.verify(batch)
    events = email.parse(batch)
    ids = [e.provider_message_id.split(".", 1)[0] for e in events]
    assert ids == [first.provider_message_id] * 4 + [second.provider_message_id] * 2
    assert events[-1].status is MessageStatus.FAILED
    assert len(set(email.dedupe_keys(batch))) == 6
