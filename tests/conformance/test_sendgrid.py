"""SendGrid: Mail Send through sendgrid-python checked against ``sendgrid_tsg_mail_v3.json``;
Event Webhook events and Inbound Parse posts against SendGrid's documented fields."""

from __future__ import annotations

import dataclasses
import json
from email import message_from_bytes

import httpx
import pytest

from core.channels.adapter import Attachment, OutgoingMessage
from core.channels.errors import ProviderError
from core.domain.enums import Channel
from providers.sandbox.personas import PERSONAS
from providers.sendgrid.adapter import SendGridAdapter
from tests.conformance import reference
from tests.conformance.checks import check_exchange
from tests.conformance.conftest import config_for, spec
from tests.conformance.report import REPORT
from tests.conformance.spec_notes import SENDGRID_STATUSES, sendgrid_judge

BY_KEY = {p.key: p for p in PERSONAS}


def mail(to: str, **kw) -> OutgoingMessage:
    return OutgoingMessage(Channel.EMAIL, to, "Bonjour", subject="Visite", reference="r1", **kw)


async def drive(sandbox, relay) -> None:
    """Every call the SendGrid adapter makes, and the failures it meets."""
    email = SendGridAdapter(config_for(sandbox, relay, "sendgrid", "sendgrid", timeout=0.2))
    wrong = dataclasses.replace(email.config, credentials={"api_key": "SG.wrong"})
    denied = SendGridAdapter(wrong)
    await email.check_connection()
    await email.send(mail(BY_KEY["asks"].email, html="<p>Bonjour</p>"))
    await email.send(mail(BY_KEY["photo"].email))  # answers with a photo attached
    await email.send(
        mail(
            "plans@prospects.test",
            attachments=(Attachment("a.pdf", "application/pdf", content=b"%PDF"),),
        )
    )
    await email.send(mail("bounce@prospects.test"))
    sandbox.inject("sendgrid", "unsubscribed")
    await email.send(mail("gone@prospects.test"))
    for kind in ("invalid_number", "rate_limit", "server_error", "unauthorized", "timeout"):
        sandbox.inject("sendgrid", kind)
        sandbox.timeout_completes = 0.0
        with pytest.raises(ProviderError):
            await email.send(mail("x@prospects.test"))
    with pytest.raises(ProviderError):
        await denied.send(mail("x@prospects.test"))
    await sandbox.flush()
    async with httpx.AsyncClient() as client:
        await client.get(sandbox.base_urls["sendgrid"] + "/v3/nothing")


def inbound_parts(body: bytes, content_type: str) -> tuple[set[str], set[str], int]:
    message = message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields, files, count = set(), set(), 0
    for part in message.get_payload():
        name = part.get_param("name", header="content-disposition")
        if part.get_filename():
            files.add(name)
        else:
            fields.add(name)
            if name == "attachments":
                count = int(part.get_payload())
    return fields, files, count


async def test_sendgrid_conforms(sandbox, relay) -> None:
    await drive(sandbox, relay)
    await sandbox.idle()  # the timed-out request has been answered too
    api = spec("sendgrid_tsg_mail_v3.json")
    for exchange in sandbox.exchanges:
        path = exchange.path.removeprefix("/sendgrid")
        check_exchange(
            REPORT,
            "sendgrid",
            api,
            exchange,
            path=path,
            probe="nothing" in path,
            judge=sendgrid_judge,
            undeclared=SENDGRID_STATUSES,
        )
    for webhook in sandbox.delivered:
        if webhook.kind == "events":
            for event in json.loads(webhook.body):
                found = reference.sendgrid_event(event, custom_args={"reference"})
                REPORT.add("sendgrid", "webhooks", f"event {event['event']}", found)
        else:
            parts = inbound_parts(webhook.body, webhook.headers["Content-Type"])
            REPORT.add("sendgrid", "webhooks", "inbound parse", reference.sendgrid_inbound(*parts))
    assert not REPORT.differences("sendgrid"), "\n".join(REPORT.differences("sendgrid"))
