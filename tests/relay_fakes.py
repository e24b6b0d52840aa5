"""The relay and ingest tests' adapter lookup: one shared fake adapter per channel.

The fake adapter and its webhook format live in ``tests.fakes``; they are re-exported here.
"""

from __future__ import annotations

from core.domain.enums import Channel, Provider
from tests.fakes import SECRET, FakeAdapter, body, message, sign, status

__all__ = ["SECRET", "FakeAdapter", "FakeAdapters", "body", "message", "sign", "status"]


class FakeAdapters:
    """An ``AdapterLookup``: one fake adapter per channel, the providers of the contract."""

    def __init__(self, **overrides: FakeAdapter) -> None:
        self.by_channel: dict[Channel, FakeAdapter] = {
            Channel.SMS: FakeAdapter(Channel.SMS),
            Channel.WHATSAPP: FakeAdapter(Channel.WHATSAPP),
            Channel.EMAIL: FakeAdapter(Channel.EMAIL),
            Channel.TELEGRAM: FakeAdapter(Channel.TELEGRAM, options={"bot_id": "777"}),
            Channel.VOICE: FakeAdapter(Channel.VOICE),
        }
        for name, adapter in overrides.items():
            self.by_channel[Channel(name)] = adapter
        #: Second providers of a channel (WhatsApp on Twilio and on Meta).
        self.more: dict[Channel, list[FakeAdapter]] = {}

    def __call__(self, channel: Channel, provider: Provider | None = None) -> FakeAdapter | None:
        adapter = self.by_channel.get(Channel(channel))
        for extra in self.more.get(Channel(channel), []):
            if provider is not None and extra.provider == provider:
                return extra
        if adapter is not None and provider is not None and adapter.provider != provider:
            return None
        return adapter
