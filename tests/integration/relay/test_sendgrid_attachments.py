"""An e-mail's attachments that arrive through SendGrid Inbound Parse (inline content, no URL)
are kept at ingest, so the thread can open and save them."""

from __future__ import annotations

import json

from sqlalchemy import select

from core.channels.adapter import AdapterConfig
from core.service import InboxService
from core.service.attachments import listed
from core.storage import convert
from core.storage import tables as t
from providers.sandbox.sendgrid_api import multipart
from providers.sendgrid.adapter import SendGridAdapter
from tests.relay_fakes import FakeAdapters
from tests.relay_harness import running_relay

SECRET = "sg-attachments-secret-5c1d"
PDF = b"%PDF-1.4 plan du T3\n%%EOF"


def mail_with_a_pdf() -> tuple[bytes, dict[str, str]]:
    fields = {
        "from": "Marie Dupont <marie@example.fr>",
        "to": "contact@agence.example",
        "subject": "Mon dossier",
        "text": "Voici mon dossier.",
        "envelope": json.dumps({"to": ["contact@agence.example"], "from": "marie@example.fr"}),
        "charsets": json.dumps({k: "utf-8" for k in ("to", "from", "subject", "text")}),
        "headers": "Message-ID: <pdf1@example.fr>\r\n",
        "attachments": "1",
        "attachment-info": json.dumps(
            {"attachment1": {"filename": "dossier.pdf", "type": "application/pdf"}}
        ),
    }
    parts = [(k, v.encode(), None, None) for k, v in fields.items()]
    parts.append(("attachment1", PDF, "dossier.pdf", "application/pdf"))
    return multipart("xYzZY", parts), {"Content-Type": "multipart/form-data; boundary=xYzZY"}


async def test_an_inbound_parse_attachment_can_be_opened_and_saved(
    service: InboxService, tmp_path
) -> None:
    sendgrid = SendGridAdapter(
        AdapterConfig(
            base_url="http://sendgrid.invalid",
            credentials={"api_key": "SG.k", "inbound_secret": SECRET},
        )
    )
    body, headers = mail_with_a_pdf()
    async with running_relay(service, FakeAdapters(email=sendgrid)) as relay:  # type: ignore[arg-type]
        url = relay.url(f"/webhooks/sendgrid/inbound/{SECRET}")
        async with relay.http.post(url, data=body, headers=headers) as response:
            assert response.status == 200
        await relay.worker.run_once()
    async with service.db.session() as session:
        [mail] = (await session.execute(select(t.MessageRow))).scalars().all()
    [info] = listed(convert.message(mail))
    assert (info.filename, info.content_type, info.size) == (
        "dossier.pdf",
        "application/pdf",
        len(PDF),
    )
    cached = await service.attachments.fetch(mail.id, 0)  # no provider download needed
    assert cached.read_bytes() == PDF
    saved = await service.attachments.save(mail.id, 0, tmp_path)
    assert saved.name == "dossier.pdf" and saved.read_bytes() == PDF
