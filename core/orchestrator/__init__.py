"""The channel orchestrator: which channel, when, at what cost, and why (``decide``).

``decide`` is pure and fast: every input is loaded beforehand into a ``RoutingContext``
(``core.orchestrator.loader``); sending is the outbox's job (``core.outbox``).

``decide`` and ``RoutingContext`` load with their modules on first use: the parts the inbox
needs at start (``channels``, ``hours``, for the held messages) come without them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.orchestrator.context import RoutingContext
    from core.orchestrator.decide import decide

_HOMES = {"RoutingContext": "core.orchestrator.context", "decide": "core.orchestrator.decide"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


__all__ = ["RoutingContext", "decide"]
