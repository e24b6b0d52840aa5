"""Validating requests and responses against an OpenAPI document (3.0 or 3.1).

The document is registered once as a ``referencing`` resource; every schema is validated by
``openapi-schema-validator`` through a ``$ref`` to its JSON pointer, so nothing is copied or
rewritten (``nullable`` in 3.0 documents is understood, as OpenAPI 3.0 defines it).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30Validator, OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPECS = Path(__file__).parent / "specs"


def pointer(*parts: str) -> str:
    """A JSON pointer from unescaped parts."""
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass(frozen=True)
class Operation:
    """One operation of the document: its path template, method and node pointer."""

    template: str
    method: str
    at: str
    node: dict[str, Any]


class Spec:
    """An OpenAPI document, ready to validate instances against any schema in it."""

    def __init__(self, filename: str) -> None:
        text = (SPECS / filename).read_text()
        if filename.endswith(".yaml"):
            self.doc: dict[str, Any] = yaml.load(
                text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            )
        else:
            self.doc = json.loads(text)
        self.uri = f"urn:spec:{filename}"
        resource = Resource.from_contents(self.doc, default_specification=DRAFT202012)
        self.registry: Registry = Registry().with_resource(self.uri, resource)
        version = str(self.doc.get("openapi", "3.0"))
        self.validator_class = OAS31Validator if version.startswith("3.1") else OAS30Validator

    def node(self, at: str) -> Any:
        """The document node at a JSON pointer."""
        node: Any = self.doc
        for part in at.strip("/").split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[int(part)] if isinstance(node, list) else node[part]
        return node

    def errors(self, at: str, instance: Any) -> list[ValidationError]:
        """Every validation error of ``instance`` against the schema at pointer ``at``."""
        validator = self.validator_class({"$ref": f"{self.uri}#{at}"}, registry=self.registry)
        return sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))

    @cached_property
    def _templates(self) -> list[tuple[re.Pattern[str], str]]:
        compiled = []
        for template in self.doc.get("paths", {}):
            regex = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            compiled.append((re.compile(f"^{regex}$"), template))
        # literal segments first: /{Version}/{Phone-Number-ID}/media before /{Version}/{Media-ID}
        return sorted(compiled, key=lambda c: c[1].count("{"))

    def operation(self, method: str, path: str) -> Operation | None:
        """The operation serving ``method path`` (path relative to the server root)."""
        method = method.lower()
        for regex, template in self._templates:
            item = self.doc["paths"][template]
            if regex.match(path) and method in item:
                return Operation(template, method, pointer("paths", template, method), item[method])
        return None

    def request_schema(self, operation: Operation, content_type: str) -> str | None:
        """The pointer of the request body schema for ``content_type``, if declared."""
        body = operation.node.get("requestBody")
        at = operation.at + "/requestBody"
        if body is None:
            return None
        if "$ref" in body:
            at = body["$ref"].removeprefix("#")
            body = self.node(at)
        content = body.get("content", {})
        kind = next((k for k in content if k.split(";")[0] == content_type), None)
        return f"{at}{pointer('content', kind, 'schema')}" if kind else None

    def response_schema(self, operation: Operation, status: int) -> tuple[str | None, bool]:
        """(schema pointer or None, whether the status is declared) for a response."""
        responses = operation.node.get("responses", {})
        key = (
            str(status)
            if str(status) in responses
            else "default"
            if "default" in responses
            else None
        )
        if key is None:
            return None, False
        at = operation.at + pointer("responses", key)
        response = responses[key]
        if "$ref" in response:
            at = response["$ref"].removeprefix("#")
            response = self.node(at)
        content = response.get("content", {})
        kind = next((k for k in content if "json" in k), None)
        return (f"{at}{pointer('content', kind, 'schema')}" if kind else None), True

    def parameters(self, operation: Operation, where: str) -> dict[str, dict[str, Any]]:
        """The declared parameters ``in: where`` (query, path…) by name."""
        found = {}
        for parameter in operation.node.get("parameters", []):
            if "$ref" in parameter:
                parameter = self.node(parameter["$ref"].removeprefix("#"))
            if parameter.get("in") == where:
                found[parameter["name"]] = parameter
        return found


def describe(error: ValidationError) -> str:
    """One line: where in the instance, and what is wrong."""
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return f"{where or '(root)'}: {error.message[:300]}"
