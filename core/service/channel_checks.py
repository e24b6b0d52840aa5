"""Checking a channel's provider set-up from the app: which secrets it takes, and whether the
provider answers with them. The app asks here instead of building adapters itself."""

from __future__ import annotations

import asyncio

from core.channels.registry import load_adapter
from core.channels.runtime import ChannelRuntime, SecretSource, adapter_name
from core.config.settings import ProviderEndpoints, Settings
from core.domain.enums import Channel, Provider
from core.domain.models import ChannelConfig


class ChannelChecks:
    """What the credentials form needs from the providers' adapters."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.endpoints = settings.endpoints if settings is not None else ProviderEndpoints()

    async def credential_names(self, channel: Channel, provider: Provider) -> list[str]:
        """The secrets the provider's adapter of ``channel`` takes (loading it off the loop).

        Raises:
            ConfigurationError: no adapter is installed for that pair.
        """
        adapter = await asyncio.to_thread(load_adapter, adapter_name(channel, provider))
        return list(adapter.credential_names)

    async def test_connection(self, config: ChannelConfig, secrets: SecretSource) -> None:
        """Build the channel's adapter with ``secrets`` and make one cheap call to the provider.

        Raises what the adapter met (missing secret, refused credentials, unreachable provider).
        """
        runtime = ChannelRuntime([config], secrets, self.endpoints)
        try:
            adapter = await asyncio.to_thread(
                lambda: runtime.adapter(config.channel, even_off=True)
            )
            await adapter.check_connection()
        finally:
            await runtime.close()
