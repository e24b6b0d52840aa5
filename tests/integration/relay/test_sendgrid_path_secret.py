"""SendGrid Inbound Parse authenticated by a secret in the path, through the real adapter.

``/webhooks/sendgrid/inbound/{secret}`` is the other way SendGrid users protect the Inbound Parse
URL (besides Basic auth); the secret is compared in constant time and never stored. The mail
also carries invalid UTF-8 and a NUL: it reaches the inbox with visible replacement characters.
"""

from __future__ import annotations

import json

from core.channels.adapter import AdapterConfig
from core.sanitize import REPLACEMENT
from core.service import InboxService
from core.storage import tables as t
from providers.sandbox.sendgrid_api import multipart
from providers.sendgrid.adapter import SendGridAdapter
from tests.integration.relay.test_ingest_flows import rows
from tests.relay_fakes import FakeAdapters
from tests.relay_harness import running_relay

SECRET = "sg-inbound-path-secret-5e4d3c"


def inbound_mail() -> tuple[bytes, dict[str, str]]:
    fields = {
        "from": b"Marie\x00 Dupont <marie@example.fr>",
        "to": b"contact@agence.example",
        "subject": b"Visite du T3 \x00",
        "text": b"Bonjour, je voudrais visiter \xff\xfe le T3.",
        "envelope": json.dumps({"to": ["contact@agence.example"], "from": "marie@example.fr"}),
        "charsets": json.dumps({k: "utf-8" for k in ("to", "from", "subject", "text")}),
        "headers": "Message-ID: <m1@example.fr>\r\n",
    }
    parts = [(k, v if isinstance(v, bytes) else v.encode(), None, None) for k, v in fields.items()]
    body = multipart("xYzZY", parts)
    return body, {"Content-Type": "multipart/form-data; boundary=xYzZY"}


async def test_inbound_parse_with_a_path_secret(service: InboxService) -> None:
    sendgrid = SendGridAdapter(
        AdapterConfig(
            base_url="http://sendgrid.invalid",
            credentials={"api_key": "SG.k", "inbound_secret": SECRET},
        )
    )
    adapters = FakeAdapters(email=sendgrid)  # type: ignore[arg-type]
    body, headers = inbound_mail()
    async with running_relay(service, adapters) as relay:
        for wrong in ("nope", SECRET[:-1], SECRET + "x"):
            url = relay.url(f"/webhooks/sendgrid/inbound/{wrong}")
            async with relay.http.post(url, data=body, headers=headers) as response:
                assert response.status == 401
        assert await relay.stored() == []
        url = relay.url(f"/webhooks/sendgrid/inbound/{SECRET}")
        async with relay.http.post(url, data=body, headers=headers) as response:
            assert response.status == 200
        await relay.worker.run_once()
        [event] = await relay.stored()
    assert event.status == "processed", event.error
    assert SECRET not in json.dumps(event.headers)
    assert event.headers["url"].endswith("/webhooks/sendgrid/inbound/{secret}")
    [prospect] = await rows(service, t.ProspectRow)
    assert prospect.email == "marie@example.fr"
    assert prospect.display_name == f"Marie{REPLACEMENT} Dupont"
    [mail] = await rows(service, t.MessageRow)
    assert mail.subject == f"Visite du T3 {REPLACEMENT}"
    assert mail.content.startswith("Bonjour, je voudrais visiter ")
    assert REPLACEMENT in mail.content and mail.content.endswith(" le T3.")
