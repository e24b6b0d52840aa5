"""``find_adapter`` remembers whether a lookup takes a provider, per lookup."""

from __future__ import annotations

from typing import Any

from core.channels.runtime import find_adapter
from core.domain.enums import Channel, Provider


class _Adapter:
    def __init__(self, provider: Provider) -> None:
        self.provider = provider


def test_each_lookup_is_asked_as_it_expects_also_the_second_time() -> None:
    asked: list[tuple[Any, ...]] = []

    def by_channel(channel: Channel) -> _Adapter:
        asked.append((channel,))
        return _Adapter(Provider.TWILIO)

    def by_provider(channel: Channel, provider: Provider | None = None) -> _Adapter:
        asked.append((channel, provider))
        return _Adapter(provider or Provider.TWILIO)

    for _ in range(2):
        assert find_adapter(by_channel, Channel.SMS, Provider.TWILIO) is not None  # type: ignore[arg-type]
        assert find_adapter(by_provider, Channel.WHATSAPP, Provider.META) is not None  # type: ignore[arg-type]
        assert find_adapter(by_channel, Channel.SMS, Provider.META) is None  # type: ignore[arg-type]
    assert asked == [
        (Channel.SMS,), (Channel.WHATSAPP, Provider.META), (Channel.SMS,),
    ] * 2  # fmt: skip
