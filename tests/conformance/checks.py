"""Checking recorded exchanges and webhooks against a spec, into the run's report."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from providers.sandbox.core import Exchange
from tests.conformance import reference
from tests.conformance.openapi import Spec, describe
from tests.conformance.report import Report

#: Turns one validation error into a spec note (field, evidence) when the spec is at fault.
SpecJudge = Callable[[Any], str | None]


def _coerce(value: list[str], schema: dict[str, Any]) -> Any:
    """A form value (list of strings) as the type its schema declares."""
    kind = schema.get("type")
    if kind == "array":
        return value
    first = value[0]
    if kind == "integer":
        try:
            return int(first)
        except ValueError:
            return first
    if kind == "number":
        try:
            return float(first)
        except ValueError:
            return first
    if kind == "boolean":
        return {"true": True, "false": False}.get(first.lower(), first)
    return first


def form_instance(
    spec: Spec, at: str, form: dict[str, list[str]]
) -> tuple[dict[str, Any], list[str]]:
    """A form body as the typed object its schema describes, and its undeclared parameters."""
    properties = spec.node(at).get("properties", {})
    instance, unknown = {}, []
    for name, values in form.items():
        if name not in properties:
            unknown.append(f"{name}: not a parameter of this operation")
            continue
        instance[name] = _coerce(values, properties[name])
    return instance, unknown


def _judge(
    spec: Spec, at: str, instance: Any, judge: SpecJudge | None
) -> tuple[list[str], list[str]]:
    differences, notes = [], []
    for error in spec.errors(at, instance):
        note = judge(error) if judge else None
        if note:
            notes.append(note)
        else:
            differences.append(describe(error))
    return differences, notes


def check_exchange(
    report: Report,
    provider: str,
    spec: Spec,
    exchange: Exchange,
    *,
    path: str,
    request_body: Any = None,
    probe: bool = False,
    judge: SpecJudge | None = None,
    undeclared: dict[int, str] | None = None,
    request_schema: Callable[[Any], str] | None = None,
) -> None:
    """Validate one recorded exchange: the request (unless ``probe``: a test's own call), and the
    2xx answer or the error body.

    ``path`` is the exchange's path as the spec writes it (sandbox prefix removed).
    ``request_body`` is the parsed body when it is not JSON or form (Telegram's multipart).
    ``undeclared``: statuses the spec leaves out though the provider answers them → the note
    saying so, with its evidence.
    """
    item = f"{exchange.method} {path}"
    operation = spec.operation(exchange.method, path)
    if operation is None and probe and exchange.status >= 400:  # an unknown route: its answer
        report.add(
            provider,
            "errors",
            item,
            reference.error_body(provider, exchange.status, _json(exchange.response_body)),
        )
        return
    if operation is None:
        report.add(
            provider, "errors" if probe else "requests", item, ["no such operation in the spec"]
        )
        return
    if not probe:
        found = _request(spec, operation, exchange, request_body, judge, request_schema)
        report.add(provider, "requests", item, *found)
    body = exchange.response_body
    try:
        answer = json.loads(body) if body else None
    except ValueError:
        answer = body
    at, declared = spec.response_schema(operation, exchange.status)
    ok = 200 <= exchange.status < 300
    documented_apart = not ok and not any(
        k == "default" or k[0] in "45" for k in operation.node.get("responses", {})
    )  # e.g. Twilio: errors are documented apart from the spec (reference.ERROR_FIELDS)
    differences: list[str] = []
    notes: list[str] = []
    if not (declared or documented_apart):
        if exchange.status in (undeclared or {}):
            notes.append((undeclared or {})[exchange.status])
        else:
            differences.append(f"status {exchange.status} not declared")
    if at is not None:
        found, judged = _judge(spec, at, answer, judge)
        differences += found
        notes += judged
    elif ok and body and exchange.status != 204:
        differences.append("a body where the spec declares none")
    if not ok:
        differences += reference.error_body(provider, exchange.status, answer)
    report.add(
        provider, "responses" if ok else "errors", f"{item} → {exchange.status}", differences, notes
    )


def _request(
    spec: Spec,
    operation: Any,
    exchange: Exchange,
    parsed: Any,
    judge: SpecJudge | None,
    pick: Callable[[Any], str] | None,
) -> tuple[list[str], list[str]]:
    differences: list[str] = []
    declared = spec.parameters(operation, "query")
    for name in exchange.query:
        if name not in declared:
            differences.append(f"query {name}: not a parameter of this operation")
    content_type = exchange.request_headers.get("content-type", "").split(";")[0]
    if not exchange.request_body and not parsed:
        if operation.node.get("requestBody", {}).get("required"):
            differences.append("request body missing")
        return differences, []
    if content_type == "application/x-www-form-urlencoded" and parsed is None:
        at = spec.request_schema(operation, content_type)
        if at is None:
            return [*differences, "form body where the spec declares none"], []
        form = parse_qs(exchange.request_body.decode(), keep_blank_values=True)
        instance, unknown = form_instance(spec, at, form)
        found, notes = _judge(spec, at, instance, judge)
        return differences + unknown + found, notes
    at = spec.request_schema(operation, "application/json")
    if at is None:
        return [*differences, f"{content_type} body where the spec declares none"], []
    instance = parsed if parsed is not None else json.loads(exchange.request_body)
    if pick is not None:  # the schema a discriminator selects
        at = pick(instance) or at
    found, notes = _judge(spec, at, instance, judge)
    return differences + found, notes


def _json(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body


def check_json_webhooks(
    report: Report,
    provider: str,
    spec: Spec,
    at: str,
    bodies: Iterable[tuple[str, Any]],
    judge: SpecJudge | None = None,
    extra: Callable[[Any], list[str]] | None = None,
) -> None:
    """Validate JSON webhook bodies against the schema at pointer ``at`` (plus ``extra`` checks)."""
    for item, body in bodies:
        differences, notes = _judge(spec, at, body, judge)
        if extra is not None:
            differences += extra(body)
        report.add(provider, "webhooks", item, differences, notes)
