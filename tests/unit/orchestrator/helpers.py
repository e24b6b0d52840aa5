"""Building routing contexts for decision tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.domain.enums import Channel
from core.orchestrator.context import RoutingContext

PHONE = "+33612345678"
EMAIL = "client@example.com"
#: Tuesday 10 March 2026, 11:00 in Paris.
MORNING = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
#: Tuesday 10 March 2026, 23:00 in Paris.
NIGHT = datetime(2026, 3, 10, 22, 0, tzinfo=UTC)


def context(**overrides: Any) -> RoutingContext:
    """A prospect with a phone and an email, every channel enabled, on a weekday morning."""
    values: dict[str, Any] = {
        "now": MORNING,
        "contacts": {Channel.SMS: PHONE, Channel.VOICE: PHONE, Channel.EMAIL: EMAIL},
        "enabled": frozenset(Channel),
        "prospect_id": 1,
        "prospect_name": "Marie Dupont",
    }
    values.update(overrides)
    return RoutingContext(**values)
