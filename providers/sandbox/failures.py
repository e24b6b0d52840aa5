"""Failure injection: which failures each provider has, and the rules that trigger them.

A failure is injected either once (``Sandbox.inject``: the next N calls, optionally to one
address) or as a standing rule (``coccinelle sandbox --fail KIND[:CHANNEL][@RATE]``): every call
on that channel fails with probability RATE.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

#: Every failure kind, and what it means on the wire.
FAILURE_HELP: dict[str, str] = {
    "invalid_number": "the address does not exist (Twilio 21211, SendGrid 400 on the address, "
    "Telegram 'chat not found', Meta failed status 131026, VAPI 400 on customer.number)",
    "unsubscribed": "the recipient opted out (Twilio 21610, SendGrid 'dropped' event, "
    "Telegram 403 'bot was blocked by the user', Meta failed status 131050)",
    "outside_window": "WhatsApp free-form text outside the 24 h window (Twilio 63016, Meta "
    "131047, both asynchronous); approved templates still go through",
    "rate_limit": "HTTP 429 with Retry-After (Twilio 20429, SendGrid, Telegram retry_after, "
    "Meta 130429, VAPI)",
    "server_error": "HTTP 500 in the provider's error format",
    "timeout": "no answer for the hang time; the send may still complete after the client gave "
    "up (Sandbox.timeout_completes)",
    "bounce": "accepted, then not delivered (SendGrid 'bounce' event, Twilio 'undelivered' 30005)",
    "unauthorized": "HTTP 401 in the provider's error format, as with a revoked key",
}
FAILURES = frozenset(FAILURE_HELP)

#: The failures each provider really has.
PROVIDER_FAILURES: dict[str, frozenset[str]] = {
    "twilio": FAILURES,
    "sendgrid": FAILURES - {"outside_window"},
    "telegram": FAILURES - {"outside_window", "bounce"},
    "meta": FAILURES - {"bounce"},
    "vapi": FAILURES - {"outside_window", "bounce", "unsubscribed"},
}

#: Channel names accepted after ``KIND:`` and the providers that carry each.
CHANNEL_PROVIDERS: dict[str, tuple[str, ...]] = {
    "sms": ("twilio",),
    "whatsapp": ("twilio", "meta"),
    "email": ("sendgrid",),
    "telegram": ("telegram",),
    "voice": ("vapi",),
}


@dataclass(frozen=True, slots=True)
class FailureRule:
    """A standing rule: calls on ``channel`` (every channel when None) fail with ``rate``."""

    kind: str
    channel: str | None = None
    rate: float = 1.0

    def applies(self, provider: str, channel: str | None, rng: random.Random) -> bool:
        """Whether this call (to ``provider``, on ``channel``) fails under this rule."""
        if self.kind not in PROVIDER_FAILURES[provider]:
            return False
        if self.channel is not None and self.channel != channel:
            return False
        return self.rate >= 1.0 or rng.random() < self.rate


def parse_rule(text: str) -> FailureRule:
    """``KIND[:CHANNEL][@RATE]`` (RATE between 0 and 1, default 1).

    Raises:
        ValueError: an unknown kind or channel, a rate that is not a number in [0, 1], or a kind
            that no provider of the channel has.
    """
    spec, _, rate_text = text.strip().partition("@")
    kind_text, _, channel_text = spec.partition(":")
    kind, channel = kind_text.strip().lower(), channel_text.strip().lower() or None
    if kind not in FAILURES:
        raise ValueError(f"unknown failure {kind!r}; known: {', '.join(sorted(FAILURES))}")
    if channel is not None and channel not in CHANNEL_PROVIDERS:
        known = ", ".join(CHANNEL_PROVIDERS)
        raise ValueError(f"unknown channel {channel!r}; known: {known}")
    try:
        rate = float(rate_text) if rate_text else 1.0
    except ValueError:
        raise ValueError(f"rate {rate_text!r} is not a number between 0 and 1") from None
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate {rate_text!r} is not a number between 0 and 1")
    if channel is not None and not any(
        kind in PROVIDER_FAILURES[p] for p in CHANNEL_PROVIDERS[channel]
    ):
        raise ValueError(f"no provider of {channel} has the failure {kind!r}")
    return FailureRule(kind, channel, rate)


def check_supported(provider: str, kind: str) -> None:
    """Raise ``ValueError`` unless ``provider`` has the failure ``kind``."""
    if kind not in FAILURES:
        raise ValueError(f"unknown failure {kind!r}; known: {sorted(FAILURES)}")
    if kind not in PROVIDER_FAILURES[provider]:
        known = ", ".join(sorted(PROVIDER_FAILURES[provider]))
        raise ValueError(f"{provider} has no failure {kind!r}; it has: {known}")
