"""Text no database can store, in every inbound field, reaches the inbox on both databases.

A NUL (``\\u0000``) or a lone surrogate (``\\ud800``, what invalid UTF-8 becomes in a JSON
escape) in a message, a name, an email address or a subject used to be acknowledged, then
fail ingest on PostgreSQL, and the message never reached an agent.
"""

from __future__ import annotations

import json

from core.sanitize import REPLACEMENT
from core.service import InboxService
from core.storage import tables as t
from tests.integration.relay.test_ingest_flows import rows
from tests.relay_harness import running_relay

NUL, SURROGATE = "\x00", "\ud800"


def raw_body(*events: dict) -> bytes:
    """The webhook body, NUL and surrogates as JSON escapes (as a provider sends them)."""
    return json.dumps({"events": list(events)}).encode()


async def test_nul_and_surrogates_in_every_field_reach_the_inbox(service: InboxService) -> None:
    email = {
        "type": "message",
        "key": "e1" + NUL,
        "id": "e1" + NUL,
        "from": f"marie{NUL}@example.fr",
        "name": f"Marie{NUL}Dupont{SURROGATE}",
        "subject": f"T3{NUL} à louer{SURROGATE}",
        "text": f"Bonjour{NUL}, le T3{SURROGATE} ?",
    }
    sms = {
        "type": "message",
        "key": "s1",
        "id": "s1",
        "from": f"+3361234{NUL}5678",
        "name": f"Jean{NUL}",
        "text": f"{NUL}{NUL}",
    }
    async with running_relay(service) as relay:
        for path, event in (("/webhooks/sendgrid/inbound", email), ("/webhooks/twilio/sms", sms)):
            code, _, _ = await relay.post(path, raw_body(event))
            assert code == 200
        await relay.worker.run_once()
        stored = await relay.stored()
    assert [e.status for e in stored] == ["processed", "processed"]
    assert b"\\u0000" in stored[0].body  # the raw event keeps what was received
    prospects = {p.email or p.phone: p for p in await rows(service, t.ProspectRow)}
    assert set(prospects) == {"marie@example.fr", "+33612345678"}
    assert prospects["marie@example.fr"].display_name == f"Marie{REPLACEMENT}Dupont{REPLACEMENT}"
    messages = {m.provider_message_id: m for m in await rows(service, t.MessageRow)}
    mail = messages["e1" + REPLACEMENT]
    assert mail.content == f"Bonjour{REPLACEMENT}, le T3{REPLACEMENT} ?"
    assert mail.subject == f"T3{REPLACEMENT} à louer{REPLACEMENT}"
    assert messages["s1"].content == REPLACEMENT * 2
    [conversation] = [
        c for c in await rows(service, t.ConversationRow) if c.channel_type == "email"
    ]
    page = await service.conversations.page()
    assert {item.id for item in page.items} >= {conversation.id}
