"""The relay's aiohttp application: verify, bound, store durably, then answer 2xx.

    relay = Relay(db, adapters=runtime_lookup(runtime), config=RelayConfig(tenant_id=1))
    app = relay.app()          # aiohttp web.Application with every route of the contract

A request is answered 2xx only after its raw event is committed to ``inbound_events``. A failed
verification is 401/403 and stores nothing; a body over the limit is 413; a malformed body 400;
a provider retry of an event already stored is answered 200 and stored once.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qsl, urlencode

from aiohttp import web

from core.channels.adapter import ChannelAdapter, WebhookRequest
from core.channels.errors import MalformedWebhook, SignatureError, WebhookError
from core.channels.runtime import AdapterLookup
from core.domain.enums import Channel
from core.errors import ConfigurationError
from core.relay.body import BodyTooLarge, check_multipart_complete, read_bounded
from core.relay.endpoints import (
    ENDPOINTS,
    SECRET_HEADERS,
    TWILIO_EITHER,
    TWIML_EMPTY,
    Endpoint,
    status_channel,
    twilio_form,
)
from core.relay.store import EventWriter, RawEvent, dedupe_key
from core.storage.database import Database

log = logging.getLogger(__name__)

def runtime_lookup(runtime: object) -> AdapterLookup:
    """An ``AdapterLookup`` over a ``ChannelRuntime`` (unconfigured channels give None)."""

    def lookup(channel: Channel) -> ChannelAdapter | None:
        try:
            return runtime.adapter(channel)  # type: ignore[attr-defined]
        except ConfigurationError as exc:
            log.warning("webhook for %s refused: %s", channel, exc)
            return None

    return lookup


@dataclass(frozen=True)
class RelayConfig:
    """How a relay runs.

    ``public_url`` is the base URL the providers see (signatures are computed over it);
    ``pull_tokens`` maps each bearer token of the pull API to the tenant it may read.
    """

    tenant_id: int | None
    public_url: str | None = None
    max_body_bytes: int = 1_048_576
    max_email_bytes: int = 31_457_280
    pull_tokens: Mapping[str, int] = field(default_factory=dict)
    #: Pull API limits as (burst, per second): wrong tokens per address, requests per tenant.
    pull_failed_auth: tuple[float, float] = (10.0, 1 / 60)
    pull_per_tenant: tuple[float, float] = (30.0, 10.0)


class Relay:
    """The webhook endpoints, the pull API and health, over one ``EventWriter``."""

    def __init__(
        self,
        db: Database,
        adapters: AdapterLookup,
        config: RelayConfig,
        writer: EventWriter | None = None,
    ) -> None:
        self.db = db
        self.adapters = adapters
        self.config = config
        self.writer = writer or EventWriter(db)
        #: Webhook requests being answered now (ingest slows down while there are some).
        self.in_flight = 0

    def busy(self) -> bool:
        """Whether webhook requests are being answered right now."""
        return self.in_flight > 0

    def app(self) -> web.Application:
        """The aiohttp application with every route of the contract."""
        from core.relay import pull

        limit = max(self.config.max_body_bytes, self.config.max_email_bytes)
        app = web.Application(client_max_size=limit)
        for endpoint in ENDPOINTS:
            app.router.add_post(endpoint.path, self._handler(endpoint))
        app.router.add_get("/webhooks/meta/whatsapp", self.meta_challenge)
        app.router.add_get("/webhooks/meta", self.meta_challenge)
        app.router.add_get("/healthz", self.healthz)
        pull.PullApi(self).install(app)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, _app: web.Application) -> None:
        await self.writer.start()

    async def _stop(self, _app: web.Application) -> None:
        await self.writer.close()

    def _handler(self, endpoint: Endpoint) -> Callable[[web.Request], object]:
        async def handle(request: web.Request) -> web.StreamResponse:
            self.in_flight += 1
            try:
                return await self.accept(endpoint, request)
            finally:
                self.in_flight -= 1

        return handle

    async def accept(self, endpoint: Endpoint, request: web.Request) -> web.StreamResponse:
        """Verify, bound and store one webhook request; answer as its provider expects."""
        limit = self.config.max_email_bytes if endpoint.email else self.config.max_body_bytes
        try:
            body = await read_bounded(request, limit)
        except BodyTooLarge:
            return _plain(413, "request body too large")
        form = twilio_form(body) if endpoint.name in TWILIO_EITHER else None
        channel = status_channel(form) if endpoint.name in TWILIO_EITHER else endpoint.channel
        adapter = self._adapter(endpoint, channel, request)
        if adapter is None:
            return _plain(404, "no such webhook is configured")
        webhook = self.webhook_request(request, body)
        if form is not None:  # parsed once: the adapter reads this one
            webhook.parsed["form"] = form
        try:
            webhook = verified(adapter, webhook)
            check_multipart_complete(request.headers.get("Content-Type"), body)
            adapter.parse(webhook)
            keys = adapter.dedupe_keys(webhook)
        except WebhookError as exc:
            log.info("webhook %s refused (%s): %s", endpoint.name, exc.http_status, exc)
            return _plain(exc.http_status, str(exc))
        except (ValueError, KeyError, TypeError) as exc:  # an adapter tripped on odd input
            log.info("webhook %s malformed: %s", endpoint.name, type(exc).__name__)
            return _plain(MalformedWebhook.http_status, "malformed webhook body")
        event = RawEvent(
            tenant_id=self.config.tenant_id,
            provider=str(endpoint.provider),
            endpoint=endpoint.name,
            dedupe_key=dedupe_key(keys, body),
            content_type=request.headers.get("Content-Type"),
            headers=stored_headers(webhook, channel),
            body=body,
        )
        try:
            await self.writer.store(event)
        except Exception:
            return _plain(503, "the event could not be stored; retry later")
        if endpoint.twiml:
            return web.Response(text=TWIML_EMPTY, content_type="text/xml")
        return web.Response(status=200, text="ok")

    def _adapter(
        self, endpoint: Endpoint, channel: Channel, request: web.Request
    ) -> ChannelAdapter | None:
        adapter = self.adapters(channel)
        if adapter is None and endpoint.name in TWILIO_EITHER:
            other = Channel.SMS if channel == Channel.WHATSAPP else Channel.WHATSAPP
            adapter = self.adapters(other)
        if adapter is None or adapter.provider != endpoint.provider:
            return None
        bot_id = request.match_info.get("bot_id")
        if bot_id is not None and bot_id != telegram_bot_id(adapter):
            return None
        return adapter

    def webhook_request(self, request: web.Request, body: bytes) -> WebhookRequest:
        """The request as the adapter sees it, with the URL the provider used."""
        return WebhookRequest(
            method=request.method,
            url=self.public_url(request),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            query=dict(request.query),
            path_params=dict(request.match_info),
        )

    def public_url(self, request: web.Request) -> str:
        """The URL the provider called: ``public_url`` + path and query, behind a proxy too.

        The path and query are taken as sent (``raw_path``): signatures are computed over the
        exact bytes, and re-encoding ``%3A`` as ``:`` would break them.
        """
        base = self.config.public_url or f"{request.scheme}://{request.host}"
        return base.rstrip("/") + request.raw_path

    async def meta_challenge(self, request: web.Request) -> web.StreamResponse:
        """Meta's subscription check: echo ``hub.challenge`` when the verify token matches."""
        adapter = self.adapters(Channel.WHATSAPP)
        if adapter is None or str(adapter.provider) != "meta":
            return _plain(404, "no such webhook is configured")
        query = dict(request.query)
        check = getattr(adapter, "verify_challenge", None)
        if check is not None:
            try:
                return _plain(200, check(query))
            except WebhookError:
                return _plain(403, "verify token does not match")
        expected = meta_verify_token(adapter) or ""
        given = query.get("hub.verify_token", "")
        if query.get("hub.mode") != "subscribe" or not expected or not _same(given, expected):
            return _plain(403, "verify token does not match")
        return _plain(200, query.get("hub.challenge", ""))

    async def healthz(self, _request: web.Request) -> web.StreamResponse:
        """200 when the database answers; ``service`` tells another relay who holds the port."""
        from core.relay.port import SERVICE

        try:
            await self.db.check()
        except Exception:
            body = {"status": "database unavailable", "service": SERVICE}
            return web.json_response(body, status=503)
        return web.json_response({"status": "ok", "service": SERVICE})


def verified(adapter: ChannelAdapter, webhook: WebhookRequest) -> WebhookRequest:
    """``webhook`` once its signature checks, over the URL as received or as first encoded.

    A provider signs the callback URL it was given (``?ref=a%3Ab``); an HTTP client or proxy
    on the way may normalise it (``?ref=a:b``). The same secret signs both, so the relay also
    tries the query percent-encoded again before refusing.

    Raises:
        SignatureError: neither form of the URL carries a valid signature.
    """
    try:
        adapter.verify(webhook)
        return webhook
    except SignatureError:
        base, sep, query = webhook.url.partition("?")
        requoted = base + sep + urlencode(parse_qsl(query, keep_blank_values=True))
        if not sep or requoted == webhook.url:
            raise
        other = replace(webhook, url=requoted)
        adapter.verify(other)
        return other


def telegram_bot_id(adapter: ChannelAdapter) -> str | None:
    """The bot's id: the adapter's own, configured, or the numeric part of its token."""
    own = getattr(adapter, "bot_id", None)
    if isinstance(own, str | int):
        return str(own)
    configured = adapter.config.options.get("bot_id")
    if configured:
        return str(configured)
    token = adapter.config.credentials.get("bot_token") or adapter.config.credentials.get("token")
    return token.split(":", 1)[0] if token else None


def meta_verify_token(adapter: ChannelAdapter) -> str | None:
    """The token Meta must echo when subscribing the webhook."""
    return adapter.config.credentials.get("verify_token") or adapter.config.options.get(
        "verify_token"
    )


def stored_headers(webhook: WebhookRequest, channel: Channel) -> dict[str, object]:
    """What ingest needs to read the request again; secrets and signatures left out."""
    return {
        "channel": str(channel),
        "url": webhook.url.split("?", 1)[0],
        "query": {k: v for k, v in webhook.query.items() if not _secret_name(k)},
        "path_params": dict(webhook.path_params),
        "headers": {k: v for k, v in webhook.headers.items() if k not in SECRET_HEADERS},
    }


def _secret_name(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in ("secret", "token", "key", "password", "signature"))


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _plain(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text)
