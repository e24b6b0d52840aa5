"""The sandbox server: one aiohttp app, the request log, the webhook queue, failure injection."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

from providers.sandbox.personas import FAILING_RECIPIENTS, FAILURES, Replies

#: The sandbox's fixed demo credentials (fake: they open nothing but the sandbox).
CREDENTIALS: dict[str, dict[str, str]] = {
    "twilio": {"account_sid": "AC" + "5a" * 16, "auth_token": "sandbox-twilio-auth-token"},
    "sendgrid": {"api_key": "SG.sandbox.key", "inbound_secret": "sandbox-inbound-secret"},
    "telegram": {
        "bot_token": "123456789:SANDBOX-bot-token_abcdefghijklmnop",
        "webhook_secret": "sandbox-telegram-secret",
    },
    "meta": {
        "access_token": "EAAsandboxaccesstoken",
        "app_secret": "sandbox-meta-app-secret",
        "verify_token": "sandbox-verify-token",
    },
    "vapi": {"api_key": "sandbox-vapi-key", "webhook_secret": "sandbox-vapi-secret"},
}

#: Relay paths the sandbox posts provider-initiated webhooks to (status callbacks go to the
#: URL the adapter gave, as with the real Twilio).
WEBHOOK_PATHS: dict[str, str] = {
    "twilio_inbound": "/webhooks/twilio/inbound",
    "sendgrid_events": "/webhooks/sendgrid/events",
    "sendgrid_inbound": "/webhooks/sendgrid/inbound",
    "telegram": "/webhooks/telegram",
    "meta": "/webhooks/meta",
    "vapi": "/webhooks/vapi",
}


@dataclass(slots=True)
class ReceivedRequest:
    """One API request the sandbox answered.

    ``body`` is parsed: form bodies as ``{name: [values]}`` (Twilio), JSON as decoded, Telegram
    parameters as one flat dict (uploaded files as ``{"filename", "size"}``).
    """

    provider: str
    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    query: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Webhook:
    """A webhook the sandbox will post (or posted) to the relay, already signed."""

    provider: str
    kind: str
    url: str
    headers: dict[str, str]
    body: bytes
    status: int | None = None
    error: str | None = None


class Sandbox:
    """The running emulator.

    Attributes:
        base_urls: provider → base URL to give the adapter (``AdapterConfig.base_url``).
        credentials: provider → the fixed demo credentials the sandbox accepts.
        options: adapter name → adapter options matching the sandbox (sender numbers…).
        received: every API request answered, in order.
        pending: webhooks waiting for ``flush()``; ``delivered`` those posted.
    """

    def __init__(self, relay_url: str | None) -> None:
        from providers.sandbox import meta_api, sendgrid_api, telegram_api, twilio_api, vapi_api

        self.relay_url = relay_url.rstrip("/") if relay_url else None
        self.credentials = {k: dict(v) for k, v in CREDENTIALS.items()}
        self.received: list[ReceivedRequest] = []
        self.pending: list[Webhook] = []
        self.delivered: list[Webhook] = []
        self.hang_seconds = 30.0
        self._failures: list[tuple[str, str, str | None, int]] = []
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._auto: asyncio.Task[None] | None = None
        self.base_urls: dict[str, str] = {}
        self.twilio = twilio_api.TwilioEmulator(self)
        self.sendgrid = sendgrid_api.SendGridEmulator(self)
        self.telegram = telegram_api.TelegramEmulator(self)
        self.meta = meta_api.MetaEmulator(self)
        self.vapi = vapi_api.VapiEmulator(self)
        #: What the personas answered already (a person answers a given message once).
        self.replies = Replies()
        self._emulators = {
            "twilio": self.twilio,
            "sendgrid": self.sendgrid,
            "telegram": self.telegram,
            "meta": self.meta,
            "vapi": self.vapi,
        }

    # ------------------------------------------------------------------ life cycle

    @classmethod
    async def start(
        cls,
        relay_url: str | None,
        host: str = "127.0.0.1",
        port: int = 0,
        auto_flush: float | None = None,
    ) -> Sandbox:
        """Serve on ``host:port`` (0 picks a free port); ``auto_flush`` posts webhooks every N s."""
        sandbox = cls(relay_url)
        app = web.Application(client_max_size=40 * 1024 * 1024)
        for name, emulator in sandbox._emulators.items():
            app.add_routes(emulator.routes(f"/{name}"))
        sandbox._runner = web.AppRunner(app, handle_signals=False)
        await sandbox._runner.setup()
        site = web.TCPSite(sandbox._runner, host, port)
        await site.start()
        bound = sandbox._runner.addresses[0][1]
        root = f"http://{host}:{bound}"
        sandbox.base_urls = {name: f"{root}/{name}" for name in sandbox._emulators}
        if auto_flush:
            sandbox._auto = asyncio.create_task(sandbox._auto_flush(auto_flush))
        return sandbox

    async def stop(self) -> None:
        """Stop serving; pending webhooks are dropped."""
        self._stopping.set()
        if self._auto is not None:
            self._auto.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._auto
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _auto_flush(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            await self.flush()

    @property
    def personas(self) -> tuple[Any, ...]:
        """The simulated prospects (``personas.PERSONAS``), for the demo to know them."""
        from providers.sandbox.personas import PERSONAS

        return PERSONAS

    @property
    def options(self) -> dict[str, dict[str, Any]]:
        """Adapter options that match the sandbox, per adapter name."""
        return {
            "twilio_sms": {"from_number": self.twilio.sms_number},
            "twilio_whatsapp": {"from_number": self.twilio.whatsapp_number},
            "sendgrid": {
                "from_email": self.sendgrid.from_email,
                "from_name": "Agence Coccinelle",
                "event_public_key": self.sendgrid.public_key_b64,
            },
            "telegram": {"bot_id": self.telegram.bot_id},
            "meta_whatsapp": {
                "phone_number_id": self.meta.phone_number_id,
                "api_version": self.meta.version,
            },
            "vapi": {
                "assistant_id": self.vapi.assistant_id,
                "phone_number_id": self.vapi.phone_number_id,
            },
        }

    # ------------------------------------------------------------------ failures

    def inject(self, provider: str, failure: str, *, to: str | None = None, times: int = 1) -> None:
        """Make the next ``times`` calls to ``provider`` (for ``to`` only, if given) fail.

        ``failure``: invalid_number, unsubscribed, outside_window, rate_limit, server_error,
        timeout, bounce, unauthorized.
        """
        if failure not in FAILURES:
            raise ValueError(f"unknown failure {failure!r}; known: {sorted(FAILURES)}")
        self._failures.append((provider, failure, to, times))

    def take_failure(self, provider: str, to: str | None) -> str | None:
        """The failure to apply to this call, consuming one injected use."""
        for index, (who, failure, target, times) in enumerate(self._failures):
            if who == provider and (target is None or target == to):
                if times <= 1:
                    del self._failures[index]
                else:
                    self._failures[index] = (who, failure, target, times - 1)
                return failure
        if to is not None:
            return FAILING_RECIPIENTS.get(str(to).removeprefix("whatsapp:").lower())
        return None

    async def hang(self) -> None:
        """Answer nothing for ``hang_seconds`` (a provider timeout), or until stopped."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self.hang_seconds)

    # ------------------------------------------------------------------ log and webhooks

    def log(self, provider: str, request: web.Request, body: Any) -> None:
        """Record an API request."""
        self.received.append(
            ReceivedRequest(
                provider=provider,
                method=request.method,
                path=request.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                body=body,
                query=dict(request.query),
            )
        )

    def requests(self, provider: str, path_contains: str = "") -> list[ReceivedRequest]:
        """The logged requests to ``provider`` whose path contains ``path_contains``."""
        return [r for r in self.received if r.provider == provider and path_contains in r.path]

    def relay(self, path: str) -> str | None:
        """The relay URL for ``path``, or None when no relay is configured."""
        return self.relay_url + path if self.relay_url else None

    def enqueue(self, webhook: Webhook) -> None:
        """Queue a signed webhook for the next ``flush()``."""
        self.pending.append(webhook)

    async def flush(self) -> list[Webhook]:
        """Post every pending webhook in order (and those they cause), and return them."""
        posted: list[Webhook] = []
        while self.pending:
            webhook = self.pending.pop(0)
            await self._post(webhook)
            self.delivered.append(webhook)
            posted.append(webhook)
        return posted

    async def _post(self, webhook: Webhook) -> None:
        if not webhook.url:
            webhook.error = "no relay configured"
            return
        if self._session is None:
            self._session = ClientSession(timeout=ClientTimeout(total=20))
        try:
            async with self._session.post(
                webhook.url, data=webhook.body, headers=webhook.headers
            ) as response:
                webhook.status = response.status
                await response.read()
        except Exception as exc:  # the relay being down must not stop the sandbox
            webhook.error = type(exc).__name__


def new_id(prefix: str, size: int = 32) -> str:
    """A random id such as ``SM`` + 32 hex digits."""
    return prefix + secrets.token_hex(size // 2)


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON answer with the exact bytes ``json.dumps`` gives."""
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        content_type="application/json",
        headers=headers,
    )
