"""Where a published spec is itself wrong: each defect named per field, with its evidence.

A validation error is forgiven only when it matches a defect listed here, and each defect's
evidence is checked in the run (``test_spec_notes.py``): Meta's own examples fail its schema
the same way. Everything else counts as a difference.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema.exceptions import ValidationError

from tests.conformance.openapi import Spec, pointer

META_SPEC = "whatsapp_business_messaging_api_v23.0.yaml"
MESSAGES_PATH = ("paths", "/{Version}/{Phone-Number-ID}/messages", "post", "requestBody")
SENDGRID_HELP = (
    "ErrorResponse.errors[].help is typed `object`, but SendGrid answers a documentation link "
    'string (e.g. "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#message'
    '.from" in responses captured by public client code); the sandbox answers the string'
)


SENDGRID_STATUSES = {
    200: "POST /v3/mail/send declares 202 only; with mail_settings.sandbox_mode SendGrid answers "
    "200 (SendGrid's errors page: '200 response only applicable to calls made when sandbox mode "
    "is enabled', sendgrid/docs pull request 2013)",
    429: "POST /v3/mail/send declares no 429; SendGrid rate-limits with 429 (sendgrid-python's "
    "python_http_client maps it to TooManyRequestsError, and the v3 rate-limit docs)",
}


def sendgrid_judge(error: ValidationError) -> str | None:
    """SendGrid's spec types ``help`` as an object."""
    path = list(error.absolute_path)
    if error.validator == "type" and path[-1:] == ["help"] and isinstance(error.instance, str):
        return SENDGRID_HELP
    return None


def message_schema(spec: Spec, body: Any) -> str:
    """The pointer of the schema Meta's ``Message`` discriminator picks for ``body``."""
    mapping = spec.node("/components/schemas/Message")["discriminator"]["mapping"]
    target = mapping.get(str((body or {}).get("type")), "#/components/schemas/Message")
    return target.removeprefix("#")


@cache
def base_properties(spec: Spec) -> frozenset[str]:
    """The properties ``BaseMessageProperties`` declares for every message type."""
    return frozenset(spec.node("/components/schemas/BaseMessageProperties")["properties"])


READ_EXAMPLE = "Send typing indicator and read receipt"


@cache
def example_names(spec: Spec) -> frozenset[str]:
    """The names of Meta's request examples for the messages endpoint."""
    return frozenset(spec.node(pointer(*MESSAGES_PATH, "content", "application/json", "examples")))


@cache
def example_failures(spec: Spec) -> dict[str, list[str]]:
    """Meta's own request examples that fail its schema, by defect: the evidence."""
    examples = spec.node(pointer(*MESSAGES_PATH, "content", "application/json", "examples"))
    found: dict[str, list[str]] = {}
    for name, example in examples.items():
        value = example.get("value") or {}
        for error in spec.errors(message_schema(spec, value), value):
            defect = meta_defect(spec, error)
            if defect:
                found.setdefault(defect, []).append(name)
    return found


def meta_defect(spec: Spec, error: ValidationError) -> str | None:
    """The defect ``error`` shows, when it is one of the known ones."""
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        declared = set(error.schema.get("properties", {}))
        extras = set(error.instance) - declared
        if extras and extras <= base_properties(spec):
            return (
                "message type schemas (e.g. TextMessage) combine BaseMessageProperties through "
                "allOf with `additionalProperties: false` in the type branch, which forbids the "
                f"base fields every message needs ({', '.join(sorted(extras))})"
            )
    return None


def meta_judge(spec: Spec) -> Any:
    """A judge forgiving Meta's known defects, naming the examples that show each."""

    def judge(error: ValidationError) -> str | None:
        if (
            error.validator == "oneOf"
            and isinstance(error.instance, dict)
            and error.instance.get("status") == "read"
            and "type" not in error.instance
            and READ_EXAMPLE in example_names(spec)
        ):
            return (
                "the messages requestBody schema is Message only, while Meta documents the read "
                f"receipt on the same endpoint in its own example {READ_EXAMPLE!r}"
            )
        defect = meta_defect(spec, error)
        if defect is None:
            return None
        evidence = example_failures(spec).get(defect, [])
        if not evidence:
            return None  # not shown by Meta's own examples: a real difference
        shown = ", ".join(repr(n) for n in evidence[:3])
        return f"{defect}; Meta's own examples fail the same way: {shown} (+{len(evidence) - 3})"

    return judge


def through_branches(judge: Any, error: ValidationError) -> str | None:
    """For a failed oneOf/anyOf: the note when one branch fails only by forgiven defects."""
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        return None
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    for subs in branches.values():
        notes = [judge(sub) for sub in subs]
        if all(notes):
            return notes[0]
    return None


def webhook_defect(error: ValidationError) -> str | None:
    """Meta's ``WebhookPayload`` defects (see specs' README: every inbound sample fails)."""
    nested = through_branches(webhook_defect, error)
    if nested:
        return nested
    path = [p for p in error.absolute_path if isinstance(p, str)]
    inbound_only = {
        "from",
        "id",
        "timestamp",
        "context",
        "errors",
        "referral",
        "messaging_product",
        "recipient_type",
        "to",
    }
    if (
        error.validator == "additionalProperties"
        and "messages" in path
        and isinstance(error.instance, dict)
        and set(error.instance) - set(error.schema.get("properties", {})) <= inbound_only
    ):
        return (
            "WebhookPayload: an inbound messages[] item reuses the outbound Message schema, whose "
            "type branches forbid (additionalProperties: false) the fields every inbound message "
            "has (from, id, timestamp, context)"
        )
    if error.validator == "required" and "messages" in path:
        missing = {"messaging_product", "recipient_type", "to"}
        if any(f"'{name}'" in error.message for name in missing):
            return (
                "WebhookPayload: an inbound messages[] item reuses the outbound Message schema "
                "and so requires messaging_product/recipient_type/to, which inbound messages "
                "never carry"
            )
    return None


TELEGRAM_MAYBE = (
    "MaybeInaccessibleMessage is a oneOf of Message and InaccessibleMessage, but "
    'InaccessibleMessage\'s `date` is "Always 0" only in its description (no `const`), so '
    "every accessible message matches both branches and fails oneOf"
)


def telegram_judge(spec: Spec) -> Any:
    """Forgives the MaybeInaccessibleMessage defect when the message does match ``Message``."""

    def judge(error: ValidationError) -> str | None:
        refs = [branch.get("$ref", "") for branch in error.schema.get("oneOf", [])]
        if (
            error.validator == "oneOf"
            and any(r.endswith("/InaccessibleMessage") for r in refs)
            and isinstance(error.instance, dict)
            and error.instance.get("date") != 0
            and not spec.errors("/components/schemas/Message", error.instance)
        ):
            return TELEGRAM_MAYBE
        return None

    return judge
