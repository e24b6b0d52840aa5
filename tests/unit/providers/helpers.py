"""Building adapters and webhook requests without a network."""

from __future__ import annotations

from typing import Any

from core.channels.adapter import AdapterConfig, WebhookRequest


def config(**credentials: str) -> AdapterConfig:
    """A config with ``credentials`` and options given as ``options=…``."""
    options: Any = credentials.pop("options", {})
    return AdapterConfig(base_url="http://127.0.0.1:9", credentials=credentials, options=options)


def request(body: bytes, url: str = "https://relay.test/hook", **headers: str) -> WebhookRequest:
    """A POST with lower-cased ``headers`` (underscores become dashes)."""
    return WebhookRequest(
        method="POST",
        url=url,
        headers={k.replace("_", "-").lower(): v for k, v in headers.items()},
        body=body,
    )
