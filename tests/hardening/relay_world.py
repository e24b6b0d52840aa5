"""A relay with the real adapters on a background event loop, for synchronous hypothesis tests.

Hypothesis drives plain functions; the relay is aiohttp. So the relay, the sandbox (for the
adapters' options and credentials, and to produce genuine signed webhooks) and the database live
on one event loop in a thread; tests post with httpx and read the database with sqlite3.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import sqlite3
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import web

from core.channels.runtime import ChannelRuntime
from core.config.settings import ProviderEndpoints
from core.domain.enums import Channel, Provider
from core.relay.server import Relay, RelayConfig, runtime_lookup
from core.relay.store import EventWriter, RawEvent
from core.service import InboxService
from core.storage.database import Database, sqlite_url

PUBLIC_URL = "https://relay.example.fr"
TOKEN_A = "pull-token-tenant-a-0123456789"
TOKEN_B = "pull-token-tenant-b-9876543210"
MAX_BODY = 64 * 1024
MAX_EMAIL = 256 * 1024

SETUP = {
    Channel.SMS: (Provider.TWILIO, "twilio_sms"),
    Channel.WHATSAPP: (Provider.TWILIO, "twilio_whatsapp"),
    Channel.EMAIL: (Provider.SENDGRID, "sendgrid"),
    Channel.TELEGRAM: (Provider.TELEGRAM, "telegram"),
    Channel.VOICE: (Provider.VAPI, "vapi"),
}


@dataclass
class Sample:
    """A genuine signed webhook, as the sandbox would post it."""

    endpoint: str  # the relay path
    headers: dict[str, str]
    body: bytes


@dataclass
class World:
    """What the tests reach: two relays (Twilio and Meta WhatsApp), samples, the database."""

    path: Path
    loop: asyncio.AbstractEventLoop
    urls: dict[str, str] = field(default_factory=dict)  # "twilio" / "meta" -> base URL
    samples: list[Sample] = field(default_factory=list)
    credentials: dict[str, dict[str, str]] = field(default_factory=dict)
    tenants: dict[str, int] = field(default_factory=dict)
    bot_id: str = ""
    sandbox: Any = None
    _cleanup: list[Any] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"World({self.urls})"

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stored_count(self) -> int:
        with sqlite3.connect(self.path) as conn:
            return conn.execute("SELECT count(*) FROM inbound_events").fetchone()[0]

    def url(self, path: str, relay: str = "twilio") -> str:
        return self.urls[relay] + path

    # -- signing as each provider does -----------------------------------------------------------

    def sign(self, path: str, headers: dict[str, str], body: bytes) -> dict[str, str]:
        """``headers`` with the provider's valid signature for ``body`` posted to ``path``."""
        signed = dict(headers)
        url = PUBLIC_URL + path
        if path.startswith("/webhooks/twilio"):
            from providers.sandbox.twilio_api import sign

            form: dict[str, list[str]] = {}
            for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
                form.setdefault(key, []).append(value)
            token = self.credentials["twilio"]["auth_token"]
            signed["X-Twilio-Signature"] = sign(token, url, form)
        elif path == "/webhooks/sendgrid/events":
            stamp = str(int(time.time()))
            signed["X-Twilio-Email-Event-Webhook-Timestamp"] = stamp
            signed["X-Twilio-Email-Event-Webhook-Signature"] = self.sandbox.sendgrid.sign(
                stamp, body
            )
        elif path == "/webhooks/sendgrid/inbound":
            secret = self.credentials["sendgrid"]["inbound_secret"]
            signed["Authorization"] = "Basic " + base64.b64encode(
                f"inbound:{secret}".encode()
            ).decode("ascii")
        elif path.startswith("/webhooks/telegram"):
            signed["X-Telegram-Bot-Api-Secret-Token"] = self.credentials["telegram"][
                "webhook_secret"
            ]
        elif path.startswith("/webhooks/meta"):
            secret = self.credentials["meta"]["app_secret"].encode()
            signed["X-Hub-Signature-256"] = (
                "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
            )
        elif path == "/webhooks/vapi":
            signed["X-Vapi-Secret"] = self.credentials["vapi"]["webhook_secret"]
        return signed


def form_body(fields: dict[str, str]) -> bytes:
    return urlencode(list(fields.items())).encode()


def start_world(folder: Path) -> World:
    """Start everything on a new loop in a daemon thread; ``stop_world`` ends it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    world = World(path=folder / "relay.db", loop=loop)
    world.run(_setup(world))
    return world


def stop_world(world: World) -> None:
    async def cleanup() -> None:
        for closer in reversed(world._cleanup):
            await closer()

    try:
        world.run(cleanup())
    finally:
        world.loop.call_soon_threadsafe(world.loop.stop)


async def _setup(world: World) -> None:
    from providers.sandbox import start_sandbox

    db = await Database.open(sqlite_url(world.path))
    world._cleanup.append(db.close)
    service = await InboxService.connect(db, "acme")
    other = await InboxService.connect(db, "other")
    world.tenants = {"acme": service.ctx.tenant_id, "other": other.ctx.tenant_id}

    # The relays must exist before the sandbox, which posts to them.
    holder: dict[str, ChannelRuntime] = {}
    for name in ("twilio", "meta"):
        lookup = _lookup(holder, name)
        config = RelayConfig(
            tenant_id=service.ctx.tenant_id,
            public_url=PUBLIC_URL,
            max_body_bytes=MAX_BODY,
            max_email_bytes=MAX_EMAIL,
            pull_tokens={TOKEN_A: service.ctx.tenant_id, TOKEN_B: other.ctx.tenant_id},
            # The fuzz tests send thousands of wrong tokens on purpose: no rate limit here
            # (tests/integration/relay/test_http.py checks the limits).
            pull_failed_auth=(1e9, 1e9),
            pull_per_tenant=(1e9, 1e9),
        )
        relay = Relay(db, lookup, config)
        runner = web.AppRunner(relay.app())
        await runner.setup()
        relay.answer_directly(runner.server)  # as ``coccinelle relay`` serves
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        world._cleanup.append(runner.cleanup)
        world.urls[name] = f"http://127.0.0.1:{runner.addresses[0][1]}"

    sandbox = await start_sandbox(PUBLIC_URL)
    world._cleanup.append(sandbox.stop)
    world.sandbox = sandbox
    world.credentials = sandbox.credentials
    world.bot_id = str(sandbox.telegram.bot_id)
    for channel, (provider, adapter) in SETUP.items():
        options = {"base_url": sandbox.base_urls[str(provider)], **sandbox.options[adapter]}
        await service.tenant_settings.save_channel(channel, provider=provider, config=options)
    channels = await service.tenant_settings.channels()

    def secrets(config: Any, _names: Any) -> dict[str, str]:
        return sandbox.credentials[str(config.provider)]

    holder["twilio"] = ChannelRuntime(channels, secrets, ProviderEndpoints())
    meta_channels = [
        c.model_copy(
            update={
                "provider": Provider.META,
                "config": {
                    "base_url": sandbox.base_urls["meta"],
                    **sandbox.options["meta_whatsapp"],
                },
            }
        )
        if c.channel == Channel.WHATSAPP
        else c
        for c in channels
    ]
    holder["meta"] = ChannelRuntime(meta_channels, secrets, ProviderEndpoints())
    for runtime in holder.values():
        world._cleanup.append(runtime.close)

    world.samples = _genuine_samples(sandbox)
    writer = EventWriter(db)
    await writer.start()
    await writer.store(
        RawEvent(
            tenant_id=other.ctx.tenant_id,
            provider="twilio",
            endpoint="twilio/sms",
            dedupe_key="other-tenant-secret-event",
            body=b"Body=confidential+to+the+other+tenant",
        )
    )
    await writer.close()


def _lookup(holder: dict[str, ChannelRuntime], name: str):
    def lookup(channel: Channel):
        return runtime_lookup(holder[name])(channel)

    return lookup


def _genuine_samples(sandbox: Any) -> list[Sample]:
    """One signed webhook of each kind, made by the sandbox (not posted)."""
    sms, wa = sandbox.twilio.sms_number, sandbox.twilio.whatsapp_number
    sandbox.twilio.enqueue_inbound("+33612345678", sms, "Bonjour, le T3 est libre ?")
    sandbox.twilio.enqueue_inbound("+33612345678", wa, "Re", whatsapp=True, profile_name="Marie")
    sandbox.sendgrid.enqueue_events(
        [
            {
                "email": "m@example.fr",
                "event": "delivered",
                "sg_message_id": "sg1.f",
                "sg_event_id": "ev1",
                "timestamp": 1,
            }
        ]
    )
    original = {"from": {"email": sandbox.sendgrid.from_email}, "subject": "Visite", "headers": {}}
    sandbox.sendgrid.enqueue_inbound("marie@example.fr", "Marie", original, "Je suis intéressée")
    sandbox.vapi.inbound_call("+33612345678")
    sandbox.meta.enqueue_inbound("+33612345678", "Marie", "Bonjour")
    samples = []
    for hook in sandbox.pending:
        path = hook.url.removeprefix(PUBLIC_URL)
        samples.append(Sample(path, dict(hook.headers), hook.body))
    sandbox.pending.clear()
    update = {
        "update_id": 1,
        "message": {
            "message_id": 5,
            "from": {"id": 4242, "is_bot": False, "first_name": "Lucie"},
            "chat": {"id": 4242, "type": "private", "first_name": "Lucie"},
            "date": int(time.time()),
            "text": "Bonjour Sara",
        },
    }
    samples.append(
        Sample(
            f"/webhooks/telegram/{sandbox.telegram.bot_id}",
            {"Content-Type": "application/json"},
            json.dumps(update).encode(),
        )
    )
    return samples
