"""Building live adapters from the tenant's channel set-up and the keyring's secrets.

    runtime = ChannelRuntime(channels, secrets, endpoints, callback_url="https://relay.example.fr")
    adapter = runtime.adapter(Channel.SMS)        # imported and built on first use, then cached

Secrets are asked for only when an adapter is built, and are never kept anywhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from core.channels.adapter import AdapterConfig, ChannelAdapter
from core.channels.registry import load_adapter
from core.config.settings import ProviderEndpoints
from core.domain.enums import Channel, Provider
from core.domain.models import ChannelConfig
from core.errors import ConfigurationError

#: The adapter registered for each (channel, provider) pair.
ADAPTER_NAMES: dict[tuple[Channel, Provider], str] = {
    (Channel.SMS, Provider.TWILIO): "twilio_sms",
    (Channel.WHATSAPP, Provider.TWILIO): "twilio_whatsapp",
    (Channel.WHATSAPP, Provider.META): "meta_whatsapp",
    (Channel.EMAIL, Provider.SENDGRID): "sendgrid",
    (Channel.TELEGRAM, Provider.TELEGRAM): "telegram",
    (Channel.VOICE, Provider.VAPI): "vapi",
}

SecretSource = Callable[[ChannelConfig, tuple[str, ...]], Mapping[str, str]]

#: Finds the configured adapter of a channel (None when the channel is not set up).
AdapterLookup = Callable[[Channel], ChannelAdapter | None]


def adapter_name(channel: Channel, provider: Provider) -> str:
    """The entry-point name of the adapter for ``channel`` through ``provider``.

    Raises:
        ConfigurationError: that provider does not carry that channel.
    """
    try:
        return ADAPTER_NAMES[(Channel(channel), Provider(provider))]
    except KeyError:
        raise ConfigurationError(f"{provider} does not carry the {channel} channel") from None


class ChannelRuntime:
    """The adapters of one tenant, built lazily and cached."""

    def __init__(
        self,
        channels: Iterable[ChannelConfig],
        secrets: SecretSource,
        endpoints: ProviderEndpoints,
        callback_url: str | None = None,
    ) -> None:
        self._channels = {c.channel: c for c in channels}
        self._secrets = secrets
        self._endpoints = endpoints
        self._callback_url = callback_url
        self._built: dict[Channel, ChannelAdapter] = {}

    def enabled_channels(self) -> list[Channel]:
        """Channels set up and switched on."""
        return [c.channel for c in self._channels.values() if c.enabled]

    def config(self, channel: Channel) -> ChannelConfig:
        """The set-up of ``channel``.

        Raises:
            ConfigurationError: the channel is not set up.
        """
        try:
            return self._channels[Channel(channel)]
        except KeyError:
            raise ConfigurationError(f"the {channel} channel is not set up") from None

    def adapter(self, channel: Channel) -> ChannelAdapter:
        """The adapter of ``channel``, built on first use."""
        channel = Channel(channel)
        if channel not in self._built:
            self._built[channel] = self._build(self.config(channel))
        return self._built[channel]

    def _build(self, config: ChannelConfig) -> ChannelAdapter:
        cls = load_adapter(adapter_name(config.channel, config.provider))
        base_url = config.config.get("base_url") or getattr(self._endpoints, config.provider)
        credentials = self._secrets(config, cls.credential_names)
        missing = [name for name in cls.credential_names if not credentials.get(name)]
        if missing:
            raise ConfigurationError(
                f"the {config.channel} channel has no {', '.join(missing)} in the keyring "
                f"(coccinelle credentials set {config.channel} {missing[0]})"
            )
        return cls(
            AdapterConfig(
                base_url=base_url,
                credentials=credentials,
                options=config.config,
                callback_url=self._callback_url,
            )
        )

    async def close(self) -> None:
        """Close every adapter built so far."""
        for adapter in self._built.values():
            await adapter.close()
        self._built.clear()
