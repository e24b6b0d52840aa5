"""Finding adapters (and the sandbox) by entry point, without importing ``providers``.

Adapters are imported only when first asked for: importing aiogram alone takes seconds, and the
inbox must paint before that.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from core.channels.adapter import ChannelAdapter, WebhookRoute
from core.errors import ConfigurationError

ADAPTER_GROUP = "coccinelle.providers"
SANDBOX_GROUP = "coccinelle.sandbox"


@cache
def _entry_points(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


def adapter_names() -> list[str]:
    """Names of every installed adapter."""
    return sorted(_entry_points(ADAPTER_GROUP))


def load_adapter(name: str) -> type[ChannelAdapter]:
    """The adapter class registered as ``name`` (imported now).

    Raises:
        ConfigurationError: no adapter of that name is installed.
    """
    entry = _entry_points(ADAPTER_GROUP).get(name)
    if entry is None:
        known = ", ".join(adapter_names()) or "none"
        raise ConfigurationError(f"no provider adapter named {name!r} (installed: {known})")
    adapter = entry.load()
    if not (isinstance(adapter, type) and issubclass(adapter, ChannelAdapter)):
        raise ConfigurationError(f"entry point {name!r} is not a ChannelAdapter")
    return adapter


def load_plugin(group: str, name: str) -> Any:
    """Any other object registered under ``group`` as ``name`` (e.g. the sandbox factory)."""
    entry = _entry_points(group).get(name)
    if entry is None:
        raise ConfigurationError(f"nothing named {name!r} is registered under {group}")
    return entry.load()


def webhook_routes() -> list[tuple[type[ChannelAdapter], WebhookRoute]]:
    """Every installed adapter's webhook paths, each name once, with the adapter class that
    declares it (imports every adapter: tens of milliseconds, aiogram stays unimported)."""
    seen: set[str] = set()
    found: list[tuple[type[ChannelAdapter], WebhookRoute]] = []
    for name in adapter_names():
        cls = load_adapter(name)
        for route in cls.webhooks:
            if route.name not in seen:
                seen.add(route.name)
                found.append((cls, route))
    return found
