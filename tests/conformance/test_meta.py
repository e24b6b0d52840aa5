"""Meta WhatsApp Cloud API: every Graph call the adapter makes, checked against Meta's OpenAPI
(``whatsapp_business_messaging_api_v23.0.yaml``); every webhook against ``WebhookPayload`` and
the shapes of Meta's own examples and pywa's captured payloads."""

from __future__ import annotations

import dataclasses
import json
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.channels.adapter import Attachment, Button, Location, OutgoingMessage, TemplateRef
from core.channels.errors import ProviderError
from core.domain.enums import Channel
from providers.meta.adapter import MetaWhatsAppAdapter
from providers.sandbox.personas import PERSONAS
from tests.conformance.checks import check_exchange, check_json_webhooks
from tests.conformance.conftest import config_for, spec
from tests.conformance.openapi import SPECS, pointer
from tests.conformance.report import REPORT
from tests.conformance.spec_notes import META_SPEC, message_schema, meta_judge, webhook_defect

BY_KEY = {p.key: p for p in PERSONAS}
SAMPLES = SPECS / "webhook-samples" / "whatsapp"


def wa(to: str, **kw: Any) -> OutgoingMessage:
    return OutgoingMessage(Channel.WHATSAPP, to, **kw)


async def drive(sandbox, relay) -> None:
    """Every call the Meta adapter makes, and the failures it meets."""
    meta = MetaWhatsAppAdapter(config_for(sandbox, relay, "meta_whatsapp", "meta", timeout=0.2))
    wrong = dataclasses.replace(
        meta.config, credentials={**meta.config.credentials, "access_token": "EAAwrong"}
    )
    denied = MetaWhatsAppAdapter(wrong)
    template = TemplateRef("rdv_rappel", parameters=("Léa",))
    try:
        await meta.check_connection()
        await meta.send(wa(BY_KEY["asks"].phone, text="Bonjour", reference="r1"))
        await meta.send(wa(BY_KEY["photo"].phone, text="Une photo ?"))
        await meta.send(
            wa(
                BY_KEY["confirms"].phone,
                text="On confirme ?",
                buttons=(Button("yes", "Oui"), Button("no", "Non")),
            )
        )
        await meta.send(wa("+33612000120", template=template, reference="r2"))
        await meta.send(
            wa(
                "+33612000121",
                attachments=(Attachment("p.jpg", "image/jpeg", url="https://cdn.example/p.jpg"),),
            )
        )
        await meta.send(
            wa(
                "+33612000122",
                attachments=(
                    Attachment("b.pdf", "application/pdf", url="https://cdn.example/b.pdf"),
                ),
            )
        )
        await meta.send(wa("+33612000123", location=Location(48.85, 2.35, "Agence", "1 rue X")))
        await meta.send(wa("+33612000903", template=template))  # outside the window: delivered
        await meta.send(wa("+33612000903", text="hors fenêtre"))  # refused (131047)
        for kind in ("invalid_number", "unsubscribed"):
            sandbox.inject("meta", kind)
            await meta.send(wa("+33612000124", template=template))
        media_id = await meta.upload_media(b"\x89PNG", "image/png", "p.png")
        content, kind = await meta.download_media(media_id)
        assert (content, kind) == (b"\x89PNG", "image/png")
        await meta.mark_read("wamid.ABC")
        for kind in ("rate_limit", "server_error", "unauthorized", "timeout"):
            sandbox.inject("meta", kind)
            sandbox.timeout_completes = 0.0
            with pytest.raises(ProviderError):
                await meta.send(wa("+33612000125", text="x"))
        with pytest.raises(ProviderError):
            await denied.send(wa("+33612000125", text="x"))
        await sandbox.flush()
    finally:
        await meta.close()
        await denied.close()
    async with httpx.AsyncClient(headers={"Authorization": "Bearer EAAsandboxaccesstoken"}) as c:
        await c.get(sandbox.base_urls["meta"] + "/v23.0/999000111/nothing")


@cache
def sample_values() -> list[dict[str, Any]]:
    """The ``value`` of every change in Meta's examples and pywa's captured payloads."""
    values = []
    files = [
        SAMPLES / "meta_openapi_v23_webhook_examples.json",
        *sorted((SAMPLES / "pywa").glob("*.json")),
    ]
    for path in files:
        for payload in json.loads(Path(path).read_text()).values():
            for entry in payload.get("entry", []):
                for change in entry.get("changes", []):
                    if change.get("field") == "messages":
                        values.append(change["value"])
    return values


def _kinds(item: dict[str, Any], group: str) -> str:
    return item.get("type", "") if group == "messages" else item.get("status", "")


def shape_differences(value: dict[str, Any]) -> list[str]:
    """Fields the samples never carry, or that every sample of the same kind carries."""
    found = []
    for group in ("messages", "statuses"):
        for item in value.get(group) or []:
            kind = _kinds(item, group)
            every = [p for v in sample_values() for p in v.get(group) or []]
            peers = [p for p in every if _kinds(p, group) == kind]
            if not peers:
                found.append(f"{group} {kind!r}: no sample of this kind")
                continue
            found += _compare(item, peers, f"{group}[{kind}]", every)
    return found


def _compare(
    item: dict[str, Any], peers: list[dict[str, Any]], where: str, every: list[Any] | None = None
) -> list[str]:
    """``item`` may carry what any sample of its group carries (``every``), and must carry what
    every sample of its own kind (``peers``) carries."""
    keys = set(item)
    union = set().union(*(set(p) for p in every or peers))
    common = set.intersection(*(set(p) for p in peers))
    found = [f"{where}.{k}: no sample carries it" for k in sorted(keys - union)]
    found += [f"{where}.{k}: missing (every sample carries it)" for k in sorted(common - keys)]
    for key in keys & union:
        value = item[key]
        same = [p[key] for p in peers if key in p] or [p[key] for p in every or [] if key in p]
        if isinstance(value, dict) and all(isinstance(s, dict) for s in same):
            found += _compare(value, same, f"{where}.{key}")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            lists = [s[0] for s in same if isinstance(s, list) and s and isinstance(s[0], dict)]
            if lists:
                found += _compare(value[0], lists, f"{where}.{key}[0]")
        elif not any(type(s) is type(value) for s in same):
            found.append(
                f"{where}.{key}: {type(value).__name__}, samples have {type(same[0]).__name__}"
            )
    return found


async def test_meta_conforms(sandbox, relay) -> None:
    await drive(sandbox, relay)
    await sandbox.idle()  # the timed-out request has been answered too
    api = spec(META_SPEC)
    judge = meta_judge(api)
    for exchange in sandbox.exchanges:
        path = exchange.path.removeprefix("/meta")
        if path.startswith("/whatsapp_business/attachments"):
            continue  # media content: checked by the media round trip
        check_exchange(
            REPORT,
            "meta",
            api,
            exchange,
            path=path,
            probe="/nothing" in path,
            judge=judge,
            request_schema=lambda body: "" if "type" not in body else message_schema(api, body),
        )
    payload = pointer("components", "schemas", "WebhookPayload")
    bodies = [
        (f"webhook {i}", json.loads(w.body))
        for i, w in enumerate(sandbox.delivered)
        if w.provider == "meta"
    ]

    def shapes(body: dict[str, Any]) -> list[str]:
        return [
            d for e in body["entry"] for c in e["changes"] for d in shape_differences(c["value"])
        ]

    check_json_webhooks(REPORT, "meta", api, payload, bodies, judge=webhook_defect, extra=shapes)
    assert not REPORT.differences("meta"), "\n".join(REPORT.differences("meta"))
