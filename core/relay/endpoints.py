"""The relay's webhook paths: each declared by the adapter that reads it.

A provider's adapter lists its paths in ``ChannelAdapter.webhooks`` (``core.channels.adapter``);
the relay serves every installed adapter's paths and asks the adapter for the rest (which
channel a request carries, whose path it is, the subscription challenge, what to answer).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.channels.adapter import ChannelAdapter, WebhookRoute
from core.channels.registry import webhook_routes
from core.domain.enums import Provider

#: Request headers that carry a secret whatever the provider: checked, then never stored.
#: Each adapter adds its own (``ChannelAdapter.secret_headers``).
GENERIC_SECRET_HEADERS = frozenset({"authorization", "cookie"})


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One webhook path the relay serves, with the adapter class that declares it."""

    route: WebhookRoute
    declared_by: type[ChannelAdapter]

    @property
    def name(self) -> str:
        """What ``inbound_events.endpoint`` records."""
        return self.route.name

    @property
    def provider(self) -> Provider:
        """The provider whose adapters read this path."""
        return self.declared_by.provider


def installed_endpoints() -> tuple[Endpoint, ...]:
    """Every installed adapter's webhook paths."""
    return tuple(Endpoint(route, cls) for cls, route in webhook_routes())


def secret_headers(endpoints: Iterable[Endpoint]) -> frozenset[str]:
    """The headers never stored: the generic ones and every serving adapter's own."""
    found = set(GENERIC_SECRET_HEADERS)
    for endpoint in endpoints:
        found.update(h.lower() for h in endpoint.declared_by.secret_headers)
    return frozenset(found)
