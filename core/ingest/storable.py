"""Normalising a parsed provider event once, before anything of it is written.

Strangers' text may carry what a database cannot store (a NUL, a lone surrogate from a JSON
``\\ud800`` escape). Every string of the event is made storable here, once, so that ingest
behaves the same on SQLite and PostgreSQL; the raw request keeps the original bytes.

    event = storable_event(event)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from core.channels.adapter import NormalizedEvent
from core.sanitize import storable, storable_identifier

#: Fields that identify someone (matched, never shown): control characters are dropped there.
IDENTIFIER_FIELDS = frozenset({"sender", "recipient", "phone"})


def storable_event(event: NormalizedEvent) -> NormalizedEvent:
    """``event`` with every string storable (identifiers stripped, texts replaced visibly)."""
    return _storable(event)


def _storable(value: Any, field: str = "") -> Any:
    if isinstance(value, str):
        if type(value) is str and value.isprintable():
            return value  # neither NUL, a surrogate nor a control: nothing to change (hot path)
        return storable_identifier(value) if field in IDENTIFIER_FIELDS else storable(value)
    names = _init_fields(value)
    if names is not None:
        changes = {name: _storable(getattr(value, name), name) for name in names}
        if all(changes[name] is getattr(value, name) for name in names):
            return value  # the events are frozen: an identical copy would be the same event
        return dataclasses.replace(value, **changes)
    if isinstance(value, Mapping):
        pairs = [(k, v, _storable(k), _storable(v)) for k, v in value.items()]
        if type(value) is dict and all(k is k2 and v is v2 for k, v, k2, v2 in pairs):
            return value
        return {k2: v2 for _, _, k2, v2 in pairs}
    if isinstance(value, list | tuple):
        items = [(v, _storable(v)) for v in value]
        if type(value) in (list, tuple) and all(v is v2 for v, v2 in items):
            return value
        return type(value)(v2 for _, v2 in items)
    return value


#: The fields set by ``__init__`` of each dataclass met (a dataclass's fields do not change).
_FIELDS: dict[type, tuple[str, ...]] = {}


def _init_fields(value: Any) -> tuple[str, ...] | None:
    """The names of ``value``'s fields set by ``__init__``; None if it is no dataclass
    instance."""
    kind = type(value)
    names = _FIELDS.get(kind)
    if names is None:
        if not dataclasses.is_dataclass(value) or isinstance(value, type):
            return None
        names = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(value) if f.init)
    return names
