"""Telegram: every Bot API method the adapter calls through aiogram, checked against the Bot API
OpenAPI rendering (``telegram_bot_api_openapi_v8.2_gotd.json``); every update against ``Update``."""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from typing import Any

import httpx
import pytest

from core.channels.adapter import Attachment, Button, Location, OutgoingMessage
from core.channels.errors import ProviderError
from core.domain.enums import Channel
from providers.sandbox.personas import PERSONAS
from providers.telegram.adapter import TelegramAdapter
from tests.conformance.checks import _coerce, check_exchange, check_json_webhooks
from tests.conformance.conftest import config_for, spec
from tests.conformance.openapi import Spec, pointer
from tests.conformance.report import REPORT
from tests.conformance.spec_notes import telegram_judge

BY_KEY = {p.key: p for p in PERSONAS}
SPEC = "telegram_bot_api_openapi_v8.2_gotd.json"


def msg(persona: str, **kw: Any) -> OutgoingMessage:
    return OutgoingMessage(Channel.TELEGRAM, str(BY_KEY[persona].chat_id), **kw)


async def drive(sandbox, relay) -> None:
    """Every call the Telegram adapter makes, and the failures it meets."""
    bot = TelegramAdapter(config_for(sandbox, relay, "telegram", "telegram", timeout=0.2))
    wrong = dataclasses.replace(
        bot.config, credentials={**bot.config.credentials, "bot_token": "1:wrong"}
    )
    denied = TelegramAdapter(wrong)
    try:
        await bot.check_connection()
        await bot.set_commands([("/start", "Commencer"), ("aide", "Aide")])
        await bot.send(msg("asks", text="Bonjour"))
        await bot.send(msg("photo", text="Une photo ?"))
        await bot.send(
            msg("cancels", attachments=(Attachment("p.png", "image/png", content=b"\x89PNG"),))
        )
        await bot.send(
            msg(
                "cancels",
                text="Bail",
                attachments=(
                    Attachment("b.pdf", "application/pdf", url="https://cdn.example/b.pdf"),
                ),
            )
        )
        await bot.send(msg("cancels", location=Location(48.85, 2.35), text="Ici"))
        await bot.send(msg("confirms", text="On confirme ?", buttons=(Button("yes", "Oui"),)))
        updates = await bot.get_updates(timeout=0)
        query = next(u["callback_query"]["id"] for u in updates if "callback_query" in u)
        await bot.answer_button(query, "Merci")
        photo = next(u["message"]["photo"] for u in updates if "photo" in u.get("message", {}))
        content, _ = await bot.download_media(photo[-1]["file_id"])
        assert content.startswith(b"\x89PNG")
        await bot.get_updates(offset=updates[-1]["update_id"] + 1, timeout=0)
        await bot.set_webhook(relay.url + "/webhooks/telegram")
        await bot.send(msg("asks", text="Encore"))
        await bot.send(msg("photo", text="Une autre photo ?"))
        await bot.send(msg("confirms", text="Toujours ?", buttons=(Button("yes", "Oui"),)))
        await sandbox.flush()
        for kind in (
            "rate_limit",
            "server_error",
            "invalid_number",
            "unsubscribed",
            "unauthorized",
            "timeout",
        ):
            sandbox.inject("telegram", kind)
            sandbox.timeout_completes = 0.0
            with pytest.raises(ProviderError):
                await bot.send(msg("cancels", text="x"))
        with pytest.raises(ProviderError):
            await denied.send(msg("cancels", text="x"))
        await bot.delete_webhook()
    finally:
        await bot.close()
        await denied.close()
    async with httpx.AsyncClient() as client:
        token = sandbox.credentials["telegram"]["bot_token"]
        await client.post(f"{sandbox.base_urls['telegram']}/bot{token}/noSuchMethod")


def typed(api: Spec, method_path: str, params: dict[str, Any]) -> dict[str, Any]:
    """Form parameters as the JSON the method's schema describes (uploads as attach://)."""
    operation = api.operation("post", method_path)
    at = api.request_schema(operation, "application/json") if operation else None
    if at is None:
        return params
    schema = api.node(at)
    if "$ref" in schema:
        schema = api.node(schema["$ref"].removeprefix("#"))
    properties = schema.get("properties", {})
    out = {}
    for name, value in params.items():
        if isinstance(value, dict) and "filename" in value and "size" in value:
            out[name] = f"attach://{name}"
        elif isinstance(value, str) and name in properties:
            out[name] = _coerce([value], properties[name])
        else:
            out[name] = value
    return out


async def test_telegram_conforms(sandbox, relay) -> None:
    await drive(sandbox, relay)
    await sandbox.idle()  # the timed-out request has been answered too
    api = spec(SPEC)
    logged: dict[str, list[Any]] = defaultdict(list)
    for request in sandbox.received:
        if request.provider == "telegram":
            logged[request.path].append(request.body)
    token = sandbox.credentials["telegram"]["bot_token"]
    for exchange in sandbox.exchanges:
        params = logged[exchange.path].pop(0) if logged[exchange.path] else {}
        if "/file/bot" in exchange.path:
            continue  # file content: checked by the media round trip
        method = exchange.path.rsplit("/", 1)[-1]
        path = next((p for p in api.doc["paths"] if p.lower() == "/" + method.lower()), method)
        check_exchange(
            REPORT,
            "telegram",
            api,
            exchange,
            path=path,
            request_body=typed(api, path, params),
            probe=method == "noSuchMethod" or token not in exchange.path,
            judge=telegram_judge(api),
        )
    updates = [
        (f"update {json.loads(w.body)['update_id']}", json.loads(w.body))
        for w in sandbox.delivered
        if w.provider == "telegram"
    ]
    update = pointer("components", "schemas", "Update")
    check_json_webhooks(REPORT, "telegram", api, update, updates, judge=telegram_judge(api))
    assert updates, "no update went to the webhook"
    assert not REPORT.differences("telegram"), "\n".join(REPORT.differences("telegram"))
