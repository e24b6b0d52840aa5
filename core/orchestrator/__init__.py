"""The channel orchestrator: which channel, when, at what cost, and why (``decide``).

``decide`` is pure and fast: every input is loaded beforehand into a ``RoutingContext``
(``core.orchestrator.loader``); sending is the outbox's job (``core.outbox``).
"""

from core.orchestrator.context import RoutingContext
from core.orchestrator.decide import decide

__all__ = ["RoutingContext", "decide"]
