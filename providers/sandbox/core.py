"""The sandbox server: one aiohttp app, the request log, the webhook queue, failure injection."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import ClientSession, ClientTimeout, web

from providers.sandbox.failures import FailureRule, check_supported
from providers.sandbox.personas import FAILING_RECIPIENTS, Replies

log = logging.getLogger(__name__)

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
class Exchange:
    """One HTTP exchange with the sandbox's API, bytes as they went on the wire."""

    provider: str
    method: str
    path: str
    query: Mapping[str, str]
    request_headers: Mapping[str, str]
    request_body: bytes
    status: int
    response_headers: Mapping[str, str]
    response_body: bytes


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
    #: What posting it changes at the provider (a Twilio message's status…), run at flush.
    effect: Callable[[], None] | None = field(default=None, repr=False, compare=False)
    #: Posts tried; when (event loop time) the next try is due after a refusal.
    attempts: int = 0
    retry_at: float = 0.0

    @property
    def refused_for_now(self) -> bool:
        """Whether the relay asked for a retry (5xx, 429) or could not be reached."""
        if self.status is None:
            return self.error is not None
        return self.status >= 500 or self.status == 429


class Emulator(Protocol):
    """One provider's emulated API: its routes and its own 404/405 answer."""

    def routes(self, prefix: str) -> list[web.RouteDef]: ...

    def not_found(self, request: web.Request, status: int) -> web.Response: ...


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
        #: Webhooks the relay refused for now (5xx, 429, unreachable), posted again by a later
        #: ``flush()`` as providers do: a refusal is "try later", never "drop it".
        self.retrying: list[Webhook] = []
        #: Tries of a webhook in all; the pause before the second (doubling after each).
        self.webhook_attempts = 8
        self.webhook_retry_seconds = 1.0
        self.exchanges: list[Exchange] = []
        self._inflight = 0
        self.hang_seconds = 30.0
        #: The chance that a send which timed out still completes afterwards (as providers do).
        self.timeout_completes = 1.0
        #: Standing failure rules (``--fail KIND[:CHANNEL][@RATE]``).
        self.rules: list[FailureRule] = []
        #: Webhooks posted at once by ``flush()`` (1: one after the other, in order; more: in
        #: windows of this many, as a provider's many senders do, order kept between windows).
        self.post_concurrency = 1
        #: Where webhooks go instead of the relay: provider (or "*") → URL.
        self.webhook_targets: dict[str, str] = {}
        self.rng = random.Random()
        self._failures: list[tuple[str, str, str | None, int]] = []
        self._later: list[Callable[[], None]] = []
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
        self._emulators: dict[str, Emulator] = {
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
        app = web.Application(client_max_size=40 * 1024 * 1024, middlewares=[sandbox._middleware])
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
            try:
                await self.flush()
            except Exception:  # one bad effect must not stop every later webhook
                log.exception("sandbox: posting webhooks failed; trying again")

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

        ``failure`` is one of ``failures.FAILURES`` that ``provider`` has (``PROVIDER_FAILURES``):
        invalid_number, unsubscribed, outside_window, rate_limit, server_error, timeout, bounce,
        unauthorized.

        Raises:
            ValueError: an unknown failure, or one this provider does not have.
        """
        check_supported(provider, failure)
        self._failures.append((provider, failure, to, times))

    def take_failure(self, provider: str, to: str | None, channel: str | None = None) -> str | None:
        """The failure to apply to this call, consuming one injected use.

        Injected failures come first, then the failing recipients, then the standing rules.
        """
        for index, (who, failure, target, times) in enumerate(self._failures):
            if who == provider and (target is None or target == to):
                if times <= 1:
                    del self._failures[index]
                else:
                    self._failures[index] = (who, failure, target, times - 1)
                return failure
        if to is not None:
            fixed = FAILING_RECIPIENTS.get(str(to).removeprefix("whatsapp:").lower())
            if fixed is not None:
                return fixed
        for rule in self.rules:
            if rule.applies(provider, channel, self.rng):
                return rule.kind
        return None

    async def timed_out(self) -> bool:
        """Hang like a provider that does not answer; whether the send completes afterwards."""
        await self.hang()
        return not self._stopping.is_set() and self.rng.random() < self.timeout_completes

    async def hang(self) -> None:
        """Answer nothing for ``hang_seconds`` (a provider timeout), or until stopped."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self.hang_seconds)

    # ------------------------------------------------------------------ exchanges

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Record every exchange; unknown routes answer in the provider's error format."""
        provider = request.path.strip("/").split("/", 1)[0]
        # multipart bodies are streamed to the handler (request.post); they are logged parsed
        body = b"" if request.content_type.startswith("multipart/") else await request.read()
        self._inflight += 1
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if provider not in self._emulators or exc.status not in (404, 405):
                raise
            response = self._emulators[provider].not_found(request, exc.status)
        finally:
            self._inflight -= 1
        if provider in self._emulators:
            payload = response.body if isinstance(response, web.Response) else b""
            self.exchanges.append(
                Exchange(
                    provider=provider,
                    method=request.method,
                    path=request.path,
                    query=dict(request.query),
                    request_headers={k.lower(): v for k, v in request.headers.items()},
                    request_body=body,
                    status=response.status,
                    response_headers={k.lower(): v for k, v in response.headers.items()},
                    response_body=payload if isinstance(payload, bytes) else b"",
                )
            )
        return response

    async def idle(self, timeout: float = 5.0) -> None:
        """Wait until no request is being answered (a hanging one has finished)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._inflight and loop.time() < deadline:
            await asyncio.sleep(0.02)

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

    def relay(self, path: str, provider: str | None = None) -> str | None:
        """Where ``provider``'s webhook for relay ``path`` goes (None: nowhere configured).

        A webhook target (``--webhook-target``) for the provider, or for every provider, wins.
        """
        return self.target(provider, self.relay_url + path if self.relay_url else None)

    def target(self, provider: str | None, url: str | None) -> str | None:
        """``url``, unless a webhook target replaces it for ``provider``."""
        if provider is not None and provider in self.webhook_targets:
            return self.webhook_targets[provider]
        return self.webhook_targets.get("*", url)

    def enqueue(self, webhook: Webhook) -> None:
        """Queue a signed webhook for the next ``flush()``."""
        self.pending.append(webhook)

    def later(self, effect: Callable[[], None]) -> None:
        """Run ``effect`` at the next ``flush()`` (a state change with no webhook to carry it)."""
        self._later.append(effect)

    async def flush(self) -> list[Webhook]:
        """Post every pending webhook in order (and those they cause), and return them."""
        posted: list[Webhook] = []
        while self._later:
            self._later.pop(0)()
        self._take_due_retries()
        while self.pending:
            window: list[Webhook] = []
            while self.pending and len(window) < max(1, self.post_concurrency):
                webhook = self.pending.pop(0)
                if webhook.effect is not None:
                    effect, webhook.effect = webhook.effect, None  # once, not at each retry
                    effect()
                window.append(webhook)
            await asyncio.gather(*(self._post(webhook) for webhook in window))
            self.delivered.extend(window)
            posted.extend(window)
        return posted

    def _take_due_retries(self) -> None:
        """Put the refused webhooks whose retry is due back in front of the queue."""
        now = asyncio.get_running_loop().time()
        due = [webhook for webhook in self.retrying if webhook.retry_at <= now]
        if due:
            self.retrying = [webhook for webhook in self.retrying if webhook.retry_at > now]
            self.pending[:0] = due

    async def _post(self, webhook: Webhook) -> None:
        if not webhook.url:
            webhook.error = "no relay configured"
            return
        if self._session is None:
            self._session = ClientSession(timeout=ClientTimeout(total=20))
        webhook.attempts += 1
        webhook.status = webhook.error = None
        try:
            async with self._session.post(
                webhook.url, data=webhook.body, headers=webhook.headers
            ) as response:
                webhook.status = response.status
                await response.read()
        except Exception as exc:  # the relay being down must not stop the sandbox
            webhook.error = type(exc).__name__
        if webhook.refused_for_now:
            self._retry_later(webhook)

    def _retry_later(self, webhook: Webhook) -> None:
        """Post ``webhook`` again after a growing pause, or say it is given up."""
        if webhook.attempts >= self.webhook_attempts:
            log.warning(
                "sandbox: %s webhook given up after %d tries (%s)",
                webhook.kind,
                webhook.attempts,
                webhook.status or webhook.error,
            )
            return
        pause = self.webhook_retry_seconds * 2 ** (webhook.attempts - 1)
        webhook.retry_at = asyncio.get_running_loop().time() + pause
        self.retrying.append(webhook)


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
