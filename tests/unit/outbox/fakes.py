"""A runtime-like holder of fake adapters (``tests.fakes.FakeAdapter``) to drive the outbox
worker in tests, and the provider errors the fake adapter is scripted with."""

from __future__ import annotations

from core.channels.errors import PermanentProviderError, TransientProviderError
from core.domain.enums import Channel
from core.errors import ConfigurationError
from tests.fakes import FakeAdapter

__all__ = [
    "FakeAdapter",
    "FakeRuntime",
    "invalid_number",
    "rate_limited",
    "server_error",
    "timeout",
]


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


def refused() -> TransientProviderError:
    """No connection could be made: the provider surely did not take the message."""
    return TransientProviderError("connection refused", provider="twilio", unsent=True)


def timeout() -> TransientProviderError:
    """No answer in time: the provider may or may not have taken the message."""
    return TransientProviderError("timed out", provider="twilio")


class FakeRuntime:
    """``ChannelRuntime``'s ``adapter(channel)`` over a dict of adapters."""

    def __init__(self, *adapters: FakeAdapter) -> None:
        self.adapters = {a.channel: a for a in adapters}

    def adapter(self, channel: Channel) -> FakeAdapter:
        try:
            return self.adapters[Channel(channel)]
        except KeyError:
            raise ConfigurationError(f"the {channel} channel is not set up") from None
