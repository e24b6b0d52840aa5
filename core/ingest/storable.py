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
        return storable_identifier(value) if field in IDENTIFIER_FIELDS else storable(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: _storable(getattr(value, f.name), f.name)
            for f in dataclasses.fields(value)
            if f.init
        }
        return dataclasses.replace(value, **changes)
    if isinstance(value, Mapping):
        return {_storable(k): _storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_storable(v) for v in value)
    return value
