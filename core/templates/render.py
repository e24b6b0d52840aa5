"""Rendering ``{{variable}}`` templates safely.

The engine is Jinja's sandbox with everything but plain variable substitution taken away: no
attribute or item access, no method calls, no filters that run code; a template is text with
holes, never a program. A declared variable left without a value is an error naming it; a
placeholder the template does not declare is a warning (it is still filled if a value is given).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import StrictUndefined, TemplateError, UndefinedError, meta
from jinja2.sandbox import SandboxedEnvironment

from core.errors import InvalidInput

_PLACEHOLDER = re.compile(r"{{\s*([A-Za-z_][A-Za-z0-9_]*)\s*}}")
#: "{{agent_name}} de {{company_name}}" and its kin ("d'", "from", "of", "at", "chez").
_AGENT_OF_AGENCY = re.compile(
    r"{{\s*agent_name\s*}}\s+(?:de\s+|d['’]\s*|from\s+|of\s+|at\s+|chez\s+)"
    r"{{\s*company_name\s*}}",
    re.IGNORECASE,
)

#: French "de {{x}}" / "que {{x}}" before a value that starts with a vowel: "d'Agence", "qu'Inès".
_ELIDABLE = re.compile(r"\b([Dd]e|[Qq]ue)\s+({{\s*([A-Za-z_][A-Za-z0-9_]*)\s*}})")
_VOWELS = frozenset("aeiouyàâäéèêëîïôöùûüœAEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜŒ")


class _LockedSandbox(SandboxedEnvironment):
    """No attribute access at all: ``{{ name.__class__ }}`` or ``{{ x.upper() }}`` fail."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return False

    def is_safe_callable(self, obj: Any) -> bool:
        return False


_ENV = _LockedSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


class TemplateRenderError(InvalidInput):
    """The template cannot be rendered: a variable is missing or the syntax is wrong."""


@dataclass(frozen=True)
class Rendered:
    """A rendered text and what the renderer noticed."""

    text: str
    used: tuple[str, ...] = ()
    unknown: tuple[str, ...] = field(default=())


def placeholders(source: str) -> list[str]:
    """The variable names a template uses, in order of first appearance."""
    seen: dict[str, None] = {}
    for name in _PLACEHOLDER.findall(source or ""):
        seen.setdefault(name, None)
    return list(seen)


def signed_by_agency(source: str, values: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """``source`` and ``values`` as the agency signs when no agent's name is known.

    "c'est {{agent_name}} de {{company_name}}" becomes "c'est {{company_name}}" (never
    "c'est Agence du Parc de Agence du Parc"), and any other ``{{agent_name}}`` is the agency's
    name. Unchanged when an agent's name is given or the agency has no name.
    """
    if values.get("agent_name") or not values.get("company_name"):
        return source, values
    values = {**values, "agent_name": values["company_name"]}
    return _AGENT_OF_AGENCY.sub("{{company_name}}", source or ""), values


def elided(source: str, values: Mapping[str, Any]) -> str:
    """``source`` with "de"/"que" elided before a value that starts with a vowel.

    "c'est Camille de {{company_name}}" with "Agence du Parc" reads "c'est Camille d'Agence du
    Parc", never "de Agence". A value starting with "h" is left alone (aspirated or not is a
    matter of the word), as are values that are not text.
    """

    def elide(match: re.Match[str]) -> str:
        value = str(values.get(match.group(3)) or "")
        if value[:1] not in _VOWELS:
            return match.group(0)
        return f"{match.group(1)[:-1]}'{match.group(2)}"

    return _ELIDABLE.sub(elide, source)


def render_text(
    source: str, values: Mapping[str, Any], declared: tuple[str, ...] | list[str] = ()
) -> Rendered:
    """Fill ``source``'s placeholders from ``values``.

    Raises:
        TemplateRenderError: a placeholder has no value (named), or the text is not a template.
    """
    source, values = signed_by_agency(source, values)
    source = elided(source, values)
    try:
        parsed = _ENV.parse(source)
        used = sorted(meta.find_undeclared_variables(parsed))
        missing = [name for name in used if name not in values]
        if missing:
            raise TemplateRenderError("variable", missing[0], "a value for every variable")
        text = _ENV.from_string(source).render({k: str(v) for k, v in values.items()})
    except TemplateRenderError:
        raise
    except UndefinedError as exc:
        raise TemplateRenderError("template", source, "only {{variable}} placeholders") from exc
    except TemplateError as exc:
        raise TemplateRenderError(
            "template", source, f"valid {{{{variable}}}} syntax ({exc})"
        ) from exc
    unknown = tuple(name for name in used if declared and name not in declared)
    return Rendered(text=text, used=tuple(used), unknown=unknown)
