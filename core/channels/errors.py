"""Errors raised by adapters, in the core's tree (see ``core.errors``).

Each adapter maps its SDK's exceptions to these in one place, keeping the provider's own code.
"""

from __future__ import annotations

from core.errors import CoccinelleError


class ProviderError(CoccinelleError):
    """A provider call failed.

    Attributes:
        provider: the provider's name.
        code: the provider's own error code (e.g. Twilio ``21211``), as text.
        retry_after: seconds the provider asked us to wait, if it said.
        unsent: the request surely never reached the provider (no connection could be made:
            refused, no route, the name not resolved), so sending again cannot send twice.
    """

    permanent = False

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        code: str | None = None,
        retry_after: float | None = None,
        status: int | None = None,
        unsent: bool = False,
    ) -> None:
        self.provider = provider
        self.unsent = unsent
        self.code = code
        self.retry_after = retry_after
        self.status = status
        super().__init__(message)


class PermanentProviderError(ProviderError):
    """Retrying will not help: invalid number, opt-out, outside the WhatsApp window, bad keys."""

    permanent = True


class NotSupported(PermanentProviderError):
    """The adapter does not offer this (its ``Capabilities`` or ``webhooks`` say so)."""

    def __init__(self, message: str, *, provider: str) -> None:
        super().__init__(message, provider=provider, code="not_supported")


class TransientProviderError(ProviderError):
    """Retrying later may help: rate limited, 5xx, timeout, network."""


class WebhookError(CoccinelleError):
    """A webhook request cannot be accepted; ``http_status`` is what the relay answers."""

    http_status = 400


class SignatureError(WebhookError):
    """The request is not signed, or signed with another key."""

    http_status = 401


class MalformedWebhook(WebhookError):
    """The request is signed but its body cannot be understood; names the field at fault."""

    http_status = 400
