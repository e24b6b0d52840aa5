"""A loopback emulation of Twilio, SendGrid, Telegram, Meta WhatsApp and VAPI.

``await start_sandbox(relay_url)`` serves every provider on one port (one path prefix each,
see ``Sandbox.base_urls``) and posts the providers' webhooks, signed, to ``relay_url``.
The modules import aiohttp and the SDKs only when the sandbox starts.

Webhooks (``core.WEBHOOK_PATHS``, appended to ``relay_url``): Twilio inbound
``/webhooks/twilio/inbound`` (status callbacks go to the ``StatusCallback`` the adapter sent,
``/webhooks/twilio/status?ref=…``), SendGrid ``/webhooks/sendgrid/events`` (ECDSA-signed) and
``/webhooks/sendgrid/inbound`` (Basic auth ``inbound:<inbound_secret>``), Telegram the URL given
to ``setWebhook`` (else kept for ``getUpdates``), Meta ``/webhooks/meta``, VAPI ``/webhooks/vapi``.
Nothing is posted until ``await sandbox.flush()`` (or every ``auto_flush`` seconds).

Prospects (``personas.PERSONAS``): sending to them on any channel makes them answer "OUI",
"ANNULER", a question, a photo, "STOP", or ring back (a VAPI call and its end-of-call report).
Failures: ``sandbox.inject(provider, failure, to=…, times=…)`` or the fixed
``personas.FAILING_RECIPIENTS``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from providers.sandbox.core import Sandbox


async def start_sandbox(
    relay_url: str | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    auto_flush: float | None = None,
    failures: Sequence[str] = (),
    webhook_targets: Mapping[str, str] | None = None,
    timeout_completes: float | None = None,
) -> Sandbox:
    """Start the sandbox; see ``providers.sandbox.core.Sandbox``.

    ``failures``: standing rules ``KIND[:CHANNEL][@RATE]`` (``failures.parse_rule``);
    ``webhook_targets``: provider (or ``*``) → URL replacing the relay; ``timeout_completes``:
    the chance a timed-out send still completes.

    Raises:
        ValueError: a failure rule or a probability that does not parse (before serving).
    """
    from providers.sandbox.core import Sandbox
    from providers.sandbox.failures import parse_rule

    rules = [parse_rule(text) for text in failures]
    if timeout_completes is not None and not 0.0 <= timeout_completes <= 1.0:
        raise ValueError(f"timeout completion {timeout_completes} is not between 0 and 1")
    sandbox = await Sandbox.start(relay_url, host=host, port=port, auto_flush=auto_flush)
    sandbox.rules.extend(rules)
    sandbox.webhook_targets.update(webhook_targets or {})
    if timeout_completes is not None:
        sandbox.timeout_completes = timeout_completes
    return sandbox
