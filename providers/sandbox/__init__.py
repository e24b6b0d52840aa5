"""A loopback emulation of Twilio, SendGrid, Telegram, Meta WhatsApp and VAPI.

``await start_sandbox(relay_url)`` serves every provider on one port (one path prefix each,
see ``Sandbox.base_urls``) and posts the providers' webhooks, signed, to ``relay_url``.
The modules import aiohttp and the SDKs only when the sandbox starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from providers.sandbox.core import Sandbox


async def start_sandbox(
    relay_url: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    auto_flush: float | None = None,
) -> Sandbox:
    """Start the sandbox; see ``providers.sandbox.core.Sandbox``."""
    from providers.sandbox.core import Sandbox

    return await Sandbox.start(relay_url, host=host, port=port, auto_flush=auto_flush)
