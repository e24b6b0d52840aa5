"""The demo's own "provider": it accepts every message, so the product's outbox worker can send
the demo campaign's steps while seeding (no network, no credentials, nothing leaves the machine).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from core.channels.adapter import (
    AdapterConfig,
    Capabilities,
    ChannelAdapter,
    OutgoingMessage,
    SendResult,
)
from core.channels.errors import SignatureError
from core.domain.enums import DEFAULT_PROVIDER, Channel


class DemoAdapter(ChannelAdapter):
    """Accepts every message and gives it a provider id; receives no webhook (one subclass per
    channel, ``demo_adapter``: an adapter's name, provider and channel belong to its class)."""

    capabilities = Capabilities(max_length=None, rate_per_second=1_000_000.0)
    credential_names = ()

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Accept the message; its id is made of the outbox's reference (the same on every seed)."""
        return SendResult(provider_message_id=f"demo-{message.reference}")

    def verify(self, request):
        """The demo provider sends no webhook: anything claiming to be one is refused."""
        raise SignatureError("the demo provider sends no webhooks")

    def parse(self, request):
        """No webhook, so no event."""
        return []

    def dedupe_keys(self, request):
        """No webhook, so no key."""
        return []


@dataclass
class DemoDelivery:
    """The adapter source the outbox worker asks for each channel's adapter."""

    def adapter(self, channel: Channel) -> ChannelAdapter:
        """A demo adapter for ``channel``."""
        return demo_adapter(channel)(AdapterConfig(base_url="demo:", credentials={}))


@cache
def demo_adapter(for_channel: Channel) -> type[DemoAdapter]:
    """The demo adapter class of ``for_channel``."""

    class ChannelDemoAdapter(DemoAdapter):
        name = f"demo_{for_channel}"
        provider = DEFAULT_PROVIDER[for_channel]
        channel = for_channel

    return ChannelDemoAdapter
