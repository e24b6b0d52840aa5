"""Normalising a parsed provider event once, before anything of it is written.

Strangers' text may carry what a database cannot store (a NUL, a lone surrogate from a JSON
``\\ud800`` escape). Every string of the event is made storable here, once, so that ingest
behaves the same on SQLite and PostgreSQL; the raw request keeps the original bytes.

    event = storable_event(event)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from core.channels.adapter import NormalizedEvent
from core.sanitize import storable, storable_identifier

#: Fields that identify someone (matched, never shown): control characters are dropped there.
IDENTIFIER_FIELDS = frozenset({"sender", "recipient", "phone"})


def storable_event(event: NormalizedEvent) -> NormalizedEvent:
    """``event`` with every string storable (identifiers stripped, texts replaced visibly)."""
    return _storable(event)


def _storable(value: Any, field: str = "") -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is str and value.isprintable():
        return value  # neither NUL, a surrogate nor a control: nothing to change (hot path)
    if isinstance(value, str):
        if value.isprintable():  # an enum's text: the plain string, as a substitution gives
            return str.__str__(value)
        return storable_identifier(value) if field in IDENTIFIER_FIELDS else storable(value)
    names = _init_fields(kind) if not isinstance(value, type) else None
    if names is not None:
        changes = {name: _storable(getattr(value, name), name) for name in names}
        if all(changes[name] is getattr(value, name) for name in names):
            return value  # the events are frozen: an identical copy would be the same event
        return dataclasses.replace(value, **changes)
    if isinstance(value, Mapping):
        pairs = [(k, v, _storable(k), _storable(v)) for k, v in value.items()]
        if kind is dict and all(k is k2 and v is v2 for k, v, k2, v2 in pairs):
            return value
        return {k2: v2 for _, _, k2, v2 in pairs}
    if isinstance(value, list | tuple):
        items = [(v, _storable(v)) for v in value]
        if kind in (list, tuple) and all(v is v2 for v, v2 in items):
            return value
        return kind(v2 for _, v2 in items)
    return value


#: Types with no string inside: given back as they are.
_PLAIN = frozenset({type(None), bool, int, float, Decimal, bytes, datetime, date})
#: The fields set by ``__init__`` of each type met (None: not a dataclass); they do not change.
_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _init_fields(kind: type) -> tuple[str, ...] | None:
    """The names of the fields ``kind``'s ``__init__`` sets; None if it is no dataclass."""
    if kind not in _FIELDS:
        found = dataclasses.fields(kind) if dataclasses.is_dataclass(kind) else None
        _FIELDS[kind] = tuple(f.name for f in found if f.init) if found is not None else None
    return _FIELDS[kind]
