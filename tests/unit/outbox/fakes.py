"""A recording adapter and a runtime-like holder to drive the outbox worker in tests.

The adapter counts sends per reference (the outbox idempotency key), raises scripted errors,
and can answer look-ups like Twilio's message list does.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from core.channels.adapter import Capabilities, ChannelAdapter, OutgoingMessage, SendResult
from core.channels.errors import PermanentProviderError, TransientProviderError
from core.domain.enums import Channel, Provider
from core.errors import ConfigurationError
from core.storage.types import utcnow

_PROVIDERS = {
    Channel.SMS: Provider.TWILIO,
    Channel.WHATSAPP: Provider.TWILIO,
    Channel.EMAIL: Provider.SENDGRID,
    Channel.TELEGRAM: Provider.TELEGRAM,
    Channel.VOICE: Provider.VAPI,
}
_IDS = itertools.count(1)


def invalid_number() -> PermanentProviderError:
    """Twilio 21211: the 'To' number is not a valid phone number."""
    return PermanentProviderError(
        "invalid 'To' number", provider="twilio", code="21211", status=400
    )


def rate_limited(retry_after: float | None = None) -> TransientProviderError:
    """Twilio 429 Too Many Requests."""
    return TransientProviderError(
        "too many requests", provider="twilio", code="20429", retry_after=retry_after, status=429
    )


def server_error() -> TransientProviderError:
    """A 5xx answer."""
    return TransientProviderError("service unavailable", provider="twilio", status=503)


def timeout() -> TransientProviderError:
    """No answer in time: the provider may or may not have taken the message."""
    return TransientProviderError("timed out", provider="twilio")


class RecordingAdapter(ChannelAdapter):
    """Accepts every message unless ``script`` says otherwise; records every send."""

    credential_names = ()

    def __init__(
        self,
        channel: Channel,
        script: Iterable[Exception | None] = (),
        *,
        lookup: bool = False,
        accept_on_timeout: bool = False,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.clock = clock
        self.channel = channel  # type: ignore[misc]
        self.provider = _PROVIDERS[channel]  # type: ignore[misc]
        self.name = f"fake_{channel}"  # type: ignore[misc]
        self.capabilities = replace(  # type: ignore[misc]
            Capabilities(max_length=None), rate_per_second=10_000.0, lookup=lookup
        )
        self.script = list(script)
        self.accept_on_timeout = accept_on_timeout
        self.sent: list[OutgoingMessage] = []
        self.accepted: dict[str, SendResult] = {}
        self.calls: Counter[str] = Counter()

    async def send(self, message: OutgoingMessage) -> SendResult:
        assert message.reference
        self.calls[message.reference] += 1
        error = self.script.pop(0) if self.script else None
        if error is not None:
            if self.accept_on_timeout and isinstance(error, TransientProviderError):
                self._accept(message)
            raise error
        return self._accept(message)

    def _accept(self, message: OutgoingMessage) -> SendResult:
        assert message.reference
        result = SendResult(
            provider_message_id=f"{self.name.upper()}{next(_IDS):08d}",
            raw={"to": message.to, "body": message.text, "date_created": self.clock()},
        )
        self.sent.append(message)
        self.accepted[message.reference] = result
        return result

    async def lookup(self, reference: str) -> SendResult | None:
        return self.accepted.get(reference)

    def verify(self, request):  # pragma: no cover - not used by the outbox
        raise NotImplementedError

    def parse(self, request):  # pragma: no cover
        raise NotImplementedError

    def dedupe_keys(self, request):  # pragma: no cover
        raise NotImplementedError


class ListingAdapter(RecordingAdapter):
    """A provider that lists the latest messages to a recipient (like Twilio's message list)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.capabilities = replace(self.capabilities, recent=True)  # type: ignore[misc]

    async def recent(self, to: str, limit: int = 20) -> list[SendResult]:
        found = [r for r in self.accepted.values() if r.raw["to"] == to]
        return list(reversed(found))[:limit]


class FakeRuntime:
    """``ChannelRuntime``'s ``adapter(channel)`` over a dict of adapters."""

    def __init__(self, *adapters: RecordingAdapter) -> None:
        self.adapters = {a.channel: a for a in adapters}

    def adapter(self, channel: Channel) -> RecordingAdapter:
        try:
            return self.adapters[Channel(channel)]
        except KeyError:
            raise ConfigurationError(f"the {channel} channel is not set up") from None
