"""VAPI: the calls API and every server message, checked against ``vapi-server-sdk``'s models
(VAPI publishes its API through that SDK): values validated, and no field the models lack."""

from __future__ import annotations

import dataclasses
import inspect
import json
import typing
from typing import Any

import httpx
import pydantic
import pytest

from core.channels.adapter import OutgoingMessage
from core.channels.errors import ProviderError
from core.domain.enums import Channel
from providers.sandbox.personas import PERSONAS
from providers.vapi.adapter import VapiAdapter
from tests.conformance.conftest import config_for
from tests.conformance.report import REPORT

vapi_call = pytest.importorskip("vapi.types.call", reason="vapi-server-sdk (test extra)")
BY_KEY = {p.key: p for p in PERSONAS}


async def drive(sandbox, relay) -> None:
    """Every call the VAPI adapter makes, the failures it meets, and calls coming in."""
    voice = VapiAdapter(config_for(sandbox, relay, "vapi", "vapi", timeout=0.2))
    wrong = dataclasses.replace(
        voice.config, credentials={**voice.config.credentials, "api_key": "wrong"}
    )
    denied = VapiAdapter(wrong)
    try:
        await voice.check_connection()
        call_id = await voice.start_call(BY_KEY["confirms"].phone, "Camille")
        await voice.get_call(call_id)
        await voice.send(OutgoingMessage(Channel.VOICE, BY_KEY["asks"].phone))
        sandbox.vapi.inbound_call(BY_KEY["calls"].phone)
        await sandbox.flush()
        await voice.get_call(call_id)
        for kind in ("invalid_number", "rate_limit", "server_error", "unauthorized", "timeout"):
            sandbox.inject("vapi", kind)
            sandbox.timeout_completes = 0.0
            with pytest.raises(ProviderError):
                await voice.start_call("+33612000130")
        with pytest.raises(ProviderError):
            await denied.start_call("+33612000130")
        with pytest.raises(ProviderError):
            await voice.get_call("no-such-call")
    finally:
        await voice.close()
        await denied.close()
    async with httpx.AsyncClient() as client:
        await client.get(sandbox.base_urls["vapi"] + "/assistant-nothing")


def _models(annotation: Any) -> list[type[pydantic.BaseModel]]:
    """The pydantic models an annotation may hold (through Optional, List, Union, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return [annotation]
    found = []
    for arg in typing.get_args(annotation):
        found += _models(arg)
    return found


def _pick(candidates: list[type[pydantic.BaseModel]], value: dict[str, Any]) -> Any:
    """The union member a tagged value belongs to (``type`` / ``provider`` literals)."""
    for model in candidates:
        tags = {
            (f.alias or name): typing.get_args(f.annotation)
            for name, f in model.model_fields.items()
            if typing.get_origin(f.annotation) is typing.Literal
        }
        if all(value.get(k) in v for k, v in tags.items() if k in value) and any(
            k in value for k in tags
        ):
            return model
    return candidates[0] if len(candidates) == 1 else None


def undeclared(model: type[pydantic.BaseModel], data: Any, where: str) -> list[str]:
    """Fields of ``data`` that ``model`` (recursively) does not declare."""
    if not isinstance(data, dict):
        return []
    fields = {(f.alias or name): f for name, f in model.model_fields.items()}
    found = []
    for key, value in data.items():
        field = fields.get(key)
        if field is None:
            found.append(f"{where}.{key}: not in {model.__name__}")
            continue
        candidates = _models(field.annotation)
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, dict) and candidates:
                chosen = _pick(candidates, item)
                if chosen is not None:
                    found += undeclared(chosen, item, f"{where}.{key}")
    return found


def validate(model: type[pydantic.BaseModel], data: Any, where: str) -> list[str]:
    """Validation errors and undeclared fields of ``data`` against ``model``."""
    try:
        model.model_validate(data)
    except pydantic.ValidationError as exc:
        return [f"{where}.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    return undeclared(model, data, where)


def create_parameters() -> set[str]:
    """The JSON names of ``POST /call``'s body, as the SDK's ``calls.create`` sends them."""
    from vapi.calls.client import AsyncCallsClient

    names = set(inspect.signature(AsyncCallsClient.create).parameters) - {"self", "request_options"}
    return {n.split("_")[0] + "".join(p.title() for p in n.split("_")[1:]) for n in names}


def nest_error(status: int, body: Any) -> list[str]:
    """VAPI's (NestJS) error body: ``{message, error, statusCode}``."""
    if not isinstance(body, dict):
        return ["not a JSON object"]
    found = []
    if body.get("statusCode") != status:
        found.append("statusCode differs from the HTTP status")
    if not isinstance(body.get("message"), str | list):
        found.append("message: missing")
    if not isinstance(body.get("error"), str):
        found.append("error: missing")
    return found


def check_exchanges(sandbox) -> None:
    from vapi.types.create_customer_dto import CreateCustomerDto

    call_model = vapi_call.Call
    for exchange in sandbox.exchanges:
        item = f"{exchange.method} {exchange.path.removeprefix('/vapi')}"
        body = json.loads(exchange.response_body) if exchange.response_body else None
        if not exchange.path.startswith("/vapi/call"):
            REPORT.add("vapi", "errors", item, nest_error(exchange.status, body))
            continue
        found = [f"query {q}: not a parameter" for q in exchange.query if q != "limit"]
        if exchange.method == "POST":
            sent = json.loads(exchange.request_body)
            found += [
                f"{k}: not a parameter of calls.create" for k in set(sent) - create_parameters()
            ]
            found += validate(CreateCustomerDto, sent.get("customer"), "customer")
        REPORT.add("vapi", "requests", item, found)
        if exchange.status >= 400:
            REPORT.add(
                "vapi", "errors", f"{item} → {exchange.status}", nest_error(exchange.status, body)
            )
            continue
        listed = body if isinstance(body, list) else [body]
        found = [d for i, call in enumerate(listed) for d in validate(call_model, call, f"[{i}]")]
        if exchange.method == "POST" and body.get("status") not in ("queued", "scheduled"):
            found.append(f"status {body.get('status')!r} at creation")
        if exchange.method == "POST" and "endedAt" in body:
            found.append("endedAt on a call just created")
        REPORT.add("vapi", "responses", f"{item} → {exchange.status}", found)


def check_webhooks(sandbox) -> None:
    from vapi.types.server_message_end_of_call_report import ServerMessageEndOfCallReport
    from vapi.types.server_message_status_update import ServerMessageStatusUpdate

    models = {
        "status-update": ServerMessageStatusUpdate,
        "end-of-call-report": ServerMessageEndOfCallReport,
    }
    for webhook in sandbox.delivered:
        if webhook.provider != "vapi":
            continue
        envelope = json.loads(webhook.body)
        found = [f"{k}: not part of a server message" for k in set(envelope) - {"message"}]
        message = envelope.get("message", {})
        model = models.get(message.get("type"))
        if model is None:
            found.append(f"type {message.get('type')!r}: not sent by the sandbox's assistant")
        else:
            found += validate(model, message, "message")
        if not any(h.lower() in ("x-signature", "authorization") for h in webhook.headers):
            found.append("no credential-based authentication (x-signature or Authorization)")
        REPORT.add("vapi", "webhooks", f"{message.get('type')} {message.get('status', '')}", found)


async def test_vapi_conforms(sandbox, relay) -> None:
    await drive(sandbox, relay)
    await sandbox.idle()  # the timed-out request has been answered too
    check_exchanges(sandbox)
    check_webhooks(sandbox)
    assert not REPORT.differences("vapi"), "\n".join(REPORT.differences("vapi"))
