"""Building live adapters from the tenant's channel set-up and the keyring's secrets.

    runtime = ChannelRuntime(channels, secrets, endpoints, callback_url="https://relay.example.fr")
    adapter = runtime.adapter(Channel.SMS)        # imported and built on first use, then cached

Secrets are asked for only when an adapter is built, and are never kept anywhere else.
"""

from __future__ import annotations

import contextlib
import inspect
import weakref
from collections.abc import Callable, Iterable, Mapping

from core.channels.adapter import AdapterConfig, ChannelAdapter
from core.channels.registry import load_adapter
from core.config.settings import ProviderEndpoints
from core.domain.enums import Channel, Provider
from core.domain.models import ChannelConfig
from core.errors import ConfigurationError, CredentialStoreUnavailable, MissingCredentials

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

#: Finds the configured adapter of a channel, through a provider when given (None when the
#: channel is not set up with it; raises ``MissingCredentials`` when it is set up but its secrets
#: cannot be read). A lookup taking the channel only serves one provider per channel.
AdapterLookup = Callable[..., ChannelAdapter | None]


def find_adapter(
    lookup: AdapterLookup, channel: Channel, provider: Provider | str | None = None
) -> ChannelAdapter | None:
    """The adapter of ``channel`` through ``provider`` (any provider when None)."""
    if provider is not None and _takes_provider(lookup):
        return lookup(channel, Provider(provider))
    adapter = lookup(channel)
    if adapter is not None and provider is not None and adapter.provider != provider:
        return None
    return adapter


def _takes_provider(lookup: AdapterLookup) -> bool:
    try:
        return _TAKES_PROVIDER[lookup]
    except (KeyError, TypeError):
        pass
    try:
        takes = len(inspect.signature(lookup).parameters) >= 2
    except (TypeError, ValueError):
        takes = False
    with contextlib.suppress(TypeError):  # a lookup that cannot be weakly referenced
        _TAKES_PROVIDER[lookup] = takes
    return takes


#: Whether each lookup takes a provider (``inspect.signature`` costs more than the lookup, and
#: the relay asks on every request).
_TAKES_PROVIDER: weakref.WeakKeyDictionary[AdapterLookup, bool] = weakref.WeakKeyDictionary()


def adapter_name(channel: Channel, provider: Provider) -> str:
    """The entry-point name of the adapter for ``channel`` through ``provider``.

    Raises:
        ConfigurationError: that provider does not carry that channel.
    """
    try:
        return ADAPTER_NAMES[(Channel(channel), Provider(provider))]
    except KeyError:
        raise ConfigurationError(f"{provider} does not carry the {channel} channel") from None


def _by_channel(channels: Iterable[ChannelConfig]) -> dict[Channel, list[ChannelConfig]]:
    # A channel may have several providers (WhatsApp on Twilio and on Meta): the first
    # enabled set-up is the channel's primary one.
    found: dict[Channel, list[ChannelConfig]] = {}
    for config in sorted(channels, key=lambda c: not c.enabled):
        found.setdefault(Channel(config.channel), []).append(config)
    return found


class ChannelRuntime:
    """The adapters of one tenant, built lazily and cached."""

    def __init__(
        self,
        channels: Iterable[ChannelConfig],
        secrets: SecretSource,
        endpoints: ProviderEndpoints,
        callback_url: str | None = None,
    ) -> None:
        self._channels = _by_channel(channels)
        self._secrets = secrets
        self._endpoints = endpoints
        self._callback_url = callback_url
        self._built: dict[tuple[Channel, Provider], ChannelAdapter] = {}

    async def replace(self, channels: Iterable[ChannelConfig]) -> list[Channel]:
        """Apply a new set-up while running (a channel turned on or off, new options): the
        adapters whose set-up changed are closed and built again on next use. Returns the
        channels turned on by this change."""
        before = set(self.enabled_channels())
        old = {(c.channel, c.provider): c for cs in self._channels.values() for c in cs}
        self._channels = _by_channel(channels)
        new = {(c.channel, c.provider): c for cs in self._channels.values() for c in cs}
        for key in [k for k in self._built if old.get(k) != new.get(k)]:
            await self._built.pop(key).close()
        return [c for c in self.enabled_channels() if c not in before]

    async def forget_adapters(self) -> None:
        """Close every built adapter so the next use reads the secrets again (new credentials)."""
        await self.close()

    def enabled_channels(self) -> list[Channel]:
        """Channels set up and switched on."""
        return [c for c, configs in self._channels.items() if any(x.enabled for x in configs)]

    def providers(self, channel: Channel) -> list[Provider]:
        """The providers ``channel`` is set up with, the primary one first."""
        return [Provider(c.provider) for c in self._channels.get(Channel(channel), [])]

    def config(self, channel: Channel, provider: Provider | str | None = None) -> ChannelConfig:
        """The set-up of ``channel`` (through ``provider``; by default its primary one).

        Raises:
            ConfigurationError: the channel is not set up (with that provider).
        """
        configs = self._channels.get(Channel(channel))
        if not configs:
            raise ConfigurationError(f"the {channel} channel is not set up")
        if provider is None:
            return configs[0]
        for config in configs:
            if config.provider == Provider(provider):
                return config
        raise ConfigurationError(f"the {channel} channel is not set up with {provider}")

    def adapter(
        self,
        channel: Channel,
        provider: Provider | str | None = None,
        *,
        even_off: bool = False,
    ) -> ChannelAdapter:
        """The adapter of ``channel`` through ``provider`` (default: primary), built once.

        Raises:
            ConfigurationError: the channel is not set up, or is turned off (unless
                ``even_off``: a connection test of a channel not switched on yet).
        """
        config = self.config(channel, provider)
        if not config.enabled and not even_off:
            raise ConfigurationError(f"the {channel} channel is turned off")
        key = (Channel(channel), Provider(config.provider))
        if key not in self._built:
            self._built[key] = self._build(config)
        return self._built[key]

    def _build(self, config: ChannelConfig) -> ChannelAdapter:
        cls = load_adapter(adapter_name(config.channel, config.provider))
        base_url = config.config.get("base_url") or getattr(self._endpoints, config.provider)
        try:
            credentials = self._secrets(config, cls.credential_names)
        except CredentialStoreUnavailable:
            raise MissingCredentials(
                config.channel, list(cls.credential_names), "no usable keyring"
            ) from None
        missing = [name for name in cls.credential_names if not credentials.get(name)]
        if missing:
            raise MissingCredentials(config.channel, missing)
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
