"""The relay's aiohttp application: verify, bound, store durably, then answer 2xx.

    relay = Relay(db, adapters=runtime_lookup(runtime), config=RelayConfig(tenant_id=1))
    app = relay.app()          # aiohttp web.Application with every route of the contract
    runner = web.AppRunner(app); await runner.setup()
    relay.answer_directly(runner.server)   # webhook POSTs around the router (optional)

A request is answered 2xx only after its raw event is committed to ``inbound_events``. A failed
verification is 401/403 and stores nothing; a body over the limit is 413; a malformed body 400;
a provider retry of an event already stored is answered 200 and stored once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

from aiohttp import hdrs, web
from sqlalchemy import func, select

from core.channels.adapter import ChannelAdapter, WebhookRequest, WebhookRoute
from core.channels.errors import MalformedWebhook, SignatureError, WebhookError
from core.channels.multipart import is_form, prepare_form
from core.channels.runtime import AdapterLookup, find_adapter
from core.domain.enums import Channel, Provider
from core.domain.enums import InboundEventStatus as S
from core.errors import ConfigurationError, MissingCredentials
from core.relay.body import BodyTooLarge, read_bounded
from core.relay.clients import client_address, parse_networks
from core.relay.counters import RelayCounters
from core.relay.endpoints import (
    GENERIC_SECRET_HEADERS,
    Endpoint,
    installed_endpoints,
    secret_headers,
)
from core.relay.store import EventWriter, RawEvent, dedupe_key
from core.sanitize import storable, storable_as_is
from core.storage import tables as t
from core.storage.database import Database

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def runtime_lookup(runtime: object) -> AdapterLookup:
    """An ``AdapterLookup`` over a ``ChannelRuntime`` (unconfigured channels give None)."""

    def lookup(channel: Channel, provider: Provider | None = None) -> ChannelAdapter | None:
        try:
            return runtime.adapter(channel, provider)  # type: ignore[attr-defined]
        except MissingCredentials:
            raise  # set up, but unusable now: the caller answers 503 / retries later
        except ConfigurationError:
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
    #: Reverse proxies whose ``X-Forwarded-For`` is believed (addresses or networks).
    trusted_proxies: tuple[str, ...] = ()
    #: Seconds a provider is asked to wait when a channel's secrets cannot be read (503).
    retry_after_seconds: int = 300


class Relay:
    """The webhook endpoints, the pull API and health, over one ``EventWriter``."""

    def __init__(
        self,
        db: Database,
        adapters: AdapterLookup,
        config: RelayConfig,
        writer: EventWriter | None = None,
        endpoints: Sequence[Endpoint] | None = None,
    ) -> None:
        self.db = db
        self.adapters = adapters
        self.config = config
        #: The webhook paths served: by default every installed adapter's.
        self.endpoints = tuple(endpoints) if endpoints is not None else installed_endpoints()
        self.secret_headers = secret_headers(self.endpoints)
        self.writer = writer or EventWriter(db)
        self.counters = RelayCounters()
        self.trusted_proxies = parse_networks(config.trusted_proxies)
        #: Webhook requests being answered now (ingest slows down while there are some).
        self.in_flight = 0
        self._public_base = (config.public_url or "").rstrip("/")

    def busy(self) -> bool:
        """Whether webhook requests are being answered right now."""
        return self.in_flight > 0

    def client(self, request: web.BaseRequest) -> str:
        """The caller's address, through the trusted proxies."""
        forwarded = request.headers.get("X-Forwarded-For")
        return client_address(request.remote, forwarded, self.trusted_proxies)

    def refuse(
        self,
        endpoint: str,
        request: web.BaseRequest,
        status: int,
        reason: str,
        text: str,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        """Count and log one refused webhook (never its body), and answer ``status``."""
        self.counters.refused[reason] += 1
        if reason != "missing_credentials":  # ``unavailable`` logs its own, louder line
            log.info(
                "webhook refused: endpoint=%s status=%d reason=%s address=%s",
                endpoint,
                status,
                reason,
                self.client(request),
            )
        return web.Response(status=status, text=text, headers=headers)

    def unavailable(
        self, endpoint: str, request: web.BaseRequest, exc: MissingCredentials
    ) -> web.Response:
        """A channel set up without readable secrets: 503, the provider retries later."""
        log.warning(
            "webhook refused: endpoint=%s status=503 reason=missing_credentials address=%s: "
            "the %s channel is set up but has no %s (%s)",
            endpoint,
            self.client(request),
            exc.channel,
            ", ".join(exc.missing),
            exc.reason or "not set",
        )
        retry = {"Retry-After": str(self.config.retry_after_seconds)}
        text = "this channel's credentials are not available; retry later"
        return self.refuse(endpoint, request, 503, "missing_credentials", text, retry)

    def app(self) -> web.Application:
        """The aiohttp application with every route of the contract."""
        from core.relay import pull

        limit = max(self.config.max_body_bytes, self.config.max_email_bytes)
        app = web.Application(client_max_size=limit)
        for endpoint in self.endpoints:
            app.router.add_post(endpoint.route.path, self._handler(endpoint))
            if endpoint.route.challenge:
                app.router.add_get(endpoint.route.path, self._challenge_handler(endpoint))
        app.router.add_get("/healthz", self.healthz)
        pull.PullApi(self).install(app)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)
        return app

    async def _start(self, _app: web.Application) -> None:
        await self.writer.start()

    async def _stop(self, _app: web.Application) -> None:
        await self.writer.close()

    def _handler(self, endpoint: Endpoint) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            self.in_flight += 1
            try:
                return await self.accept(endpoint, request, dict(request.match_info))
            finally:
                self.in_flight -= 1

        return handle

    def answer_directly(self, server: web.Server) -> None:
        """Answer the webhook POSTs on paths without parameters straight from ``server``'s
        connections, without the application's router, match info and ``Request``.

        ``server`` is the low-level server an ``AppRunner`` made for ``self.app()``; every other
        request (the pull API, health, challenges, a path with parameters or percent-escapes,
        ``Expect: 100-continue``) still goes through the application, as before. Those parts
        of aiohttp cost a fifth of a webhook's CPU; the answer is the same either way.
        """
        fallback_handler, fallback_factory = server.request_handler, server.request_factory
        direct = direct_routes(self.endpoints)
        loop = asyncio.get_running_loop()
        limit = max(self.config.max_body_bytes, self.config.max_email_bytes)

        def factory(
            message: Any, payload: Any, protocol: Any, writer: Any, task: Any
        ) -> web.BaseRequest:
            if (
                message.method == hdrs.METH_POST
                and message.path.partition("?")[0] in direct
                and hdrs.EXPECT not in message.headers
            ):
                return web.BaseRequest(
                    message, payload, protocol, writer, task, loop, client_max_size=limit
                )
            return fallback_factory(message, payload, protocol, writer, task)

        async def handle(request: web.BaseRequest) -> web.StreamResponse:
            if type(request) is not web.BaseRequest:  # made by the application's factory
                return await fallback_handler(request)
            self.in_flight += 1
            try:
                return await self.accept(direct[request.raw_path.partition("?")[0]], request, {})
            finally:
                self.in_flight -= 1

        server.request_factory = factory
        server.request_handler = handle

    def _challenge_handler(self, endpoint: Endpoint) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self.challenge(endpoint, request)

        return handle

    async def accept(
        self,
        endpoint: Endpoint,
        request: web.BaseRequest,
        path_params: dict[str, str] | None = None,
    ) -> web.StreamResponse:
        """Verify, bound and store one webhook request; answer as its provider expects.

        ``path_params`` are the route's parameters (by default the request's match info).
        """
        name, route = endpoint.name, endpoint.route
        limit = self.config.max_email_bytes if route.email else self.config.max_body_bytes
        try:
            body = await read_bounded(request, limit)
        except BodyTooLarge:
            return self.refuse(name, request, 413, "too_large", "request body too large")
        webhook = self.webhook_request(request, body, path_params)
        channel = endpoint.declared_by.route_channel(route, webhook)
        try:
            adapter = self._adapter(endpoint, channel, webhook)
        except MissingCredentials as exc:
            return self.unavailable(name, request, exc)
        if adapter is None:
            text = "no such webhook is configured"
            return self.refuse(name, request, 404, "not_configured", text)
        try:
            webhook = verified(adapter, webhook)
            if is_form(webhook.headers.get("content-type")):
                await prepare_form(webhook, limit)  # parsed once, off the loop when large
            adapter.parse(webhook)
            keys = adapter.dedupe_keys(webhook)
        except WebhookError as exc:
            return self.refuse(name, request, exc.http_status, _reason(exc), str(exc))
        except (ValueError, KeyError, TypeError, AttributeError):  # an adapter tripped on it
            status = MalformedWebhook.http_status
            return self.refuse(name, request, status, "malformed", "malformed webhook body")
        event = RawEvent(
            tenant_id=self.config.tenant_id,
            provider=str(endpoint.provider),
            endpoint=name,
            dedupe_key=dedupe_key(keys, body),
            content_type=request.headers.get("Content-Type"),
            headers=stored_headers(webhook, channel, self.secret_headers),
            body=body,
        )
        try:
            stored = await self.writer.store(event)
        except Exception:
            text = "the event could not be stored; retry later"
            return self.refuse(name, request, 503, "storage", text)
        if stored.duplicate:
            self.counters.duplicates += 1
        else:
            self.counters.accepted += 1
        return _reply(route)

    def _adapter(
        self, endpoint: Endpoint, channel: Channel, webhook: WebhookRequest
    ) -> ChannelAdapter | None:
        """The adapter reading ``webhook``: of ``channel``, else of the route's other channels,
        provided it is the endpoint's provider and owns the path."""
        others = [c for c in endpoint.route.channels if c != channel]
        adapter = None
        for candidate in (channel, *others):
            adapter = find_adapter(self.adapters, candidate, endpoint.provider)
            if adapter is not None:
                break
        if adapter is None or adapter.provider != endpoint.provider:
            return None
        return adapter if adapter.owns_route(webhook.path_params) else None

    def webhook_request(
        self, request: web.BaseRequest, body: bytes, path_params: dict[str, str] | None = None
    ) -> WebhookRequest:
        """The request as the adapter sees it, with the URL the provider used."""
        url = self.public_url(request)
        if path_params is None:
            path_params = dict(request.match_info) if isinstance(request, web.Request) else {}
        return WebhookRequest(
            method=request.method,
            url=url,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            query=dict(request.query) if "?" in url else {},
            path_params=path_params,
        )

    def public_url(self, request: web.BaseRequest) -> str:
        """The URL the provider called: ``public_url`` + path and query, behind a proxy too.

        The path and query are taken as sent (``raw_path``): signatures are computed over the
        exact bytes, and re-encoding ``%3A`` as ``:`` would break them.
        """
        base = self._public_base or f"{request.scheme}://{request.host}"
        return base + request.raw_path

    async def challenge(self, endpoint: Endpoint, request: web.Request) -> web.StreamResponse:
        """A provider's GET subscription check (Meta's ``hub.challenge``), answered by the
        adapter when it recognises our verify token."""
        try:
            adapter = find_adapter(self.adapters, endpoint.route.channel, endpoint.provider)
        except MissingCredentials as exc:
            return self.unavailable(endpoint.name + "/challenge", request, exc)
        if adapter is None or adapter.provider != endpoint.provider:
            return _plain(404, "no such webhook is configured")
        try:
            return _plain(200, adapter.answer_challenge(dict(request.query)))
        except WebhookError:
            return _plain(403, "verify token does not match")

    async def healthz(self, _request: web.Request) -> web.StreamResponse:
        """200 when the database answers, with the relay's counters.

        ``service`` tells another relay who holds the port; ``accepted``, ``duplicates`` and
        ``refused`` (by reason) count webhooks since start; ``backlog`` is the events waiting
        for ingest, ``parked`` those that need an operator (``coccinelle events failed``).
        """
        from core.relay.port import SERVICE

        try:
            await self.db.check()
            backlog, parked = await event_counts(self.db, self.config.tenant_id)
        except Exception:
            body: dict[str, object] = {"status": "database unavailable", "service": SERVICE}
            return web.json_response(body, status=503)
        body = {
            "status": "ok",
            "service": SERVICE,
            **self.counters.as_json(),
            "backlog": backlog,
            "parked": parked,
        }
        return web.json_response(body)


def direct_routes(endpoints: Sequence[Endpoint]) -> dict[str, Endpoint]:
    """The webhook paths ``Relay.answer_directly`` serves, each with its endpoint: those without
    parameters, made of characters a client never escapes (so the raw path matches as the
    router would), the first endpoint of a path winning as in the router."""
    routes: dict[str, Endpoint] = {}
    for endpoint in endpoints:
        path = endpoint.route.path
        if _PLAIN_PATH.fullmatch(path):
            routes.setdefault(path, endpoint)
    return routes


_PLAIN_PATH = re.compile(r"/[A-Za-z0-9._~/-]*")


async def event_counts(db: Database, tenant_id: int | None) -> tuple[int, int]:
    """Stored events waiting for ingest, and parked ones (of ``tenant_id``, or all)."""
    e = t.InboundEventRow
    parked = (S.PARKED, S.FAILED)
    query = select(
        func.count().filter(e.status == S.PENDING), func.count().filter(e.status.in_(parked))
    )
    if tenant_id is not None:
        query = query.where(e.tenant_id == tenant_id)
    async with db.session() as session:
        backlog, stuck = (await session.execute(query)).one()
    return int(backlog), int(stuck)


def _reason(exc: WebhookError) -> str:
    if isinstance(exc, SignatureError):
        return "signature"
    if isinstance(exc, MalformedWebhook):
        return "malformed"
    return type(exc).__name__.lower()[:40]


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


def stored_headers(
    webhook: WebhookRequest,
    channel: Channel,
    secrets: frozenset[str] = GENERIC_SECRET_HEADERS,
) -> dict[str, object]:
    """What ingest needs to read the request again; ``secrets`` and signatures left out.

    Stored as JSON, so made storable (a ``%00`` in a query would be refused by PostgreSQL);
    the body, stored as bytes, keeps everything as received.
    """
    url = webhook.url.split("?", 1)[0]
    for name, value in webhook.path_params.items():
        if value and _secret_name(name):
            url = url.replace("/" + value, "/{" + name + "}")
    query = {k: v for k, v in webhook.query.items() if not _secret_name(k)}
    params = {k: v for k, v in webhook.path_params.items() if not _secret_name(k)}
    headers = {k: v for k, v in webhook.headers.items() if k not in secrets}
    stored: dict[str, object] = {
        "channel": str(channel),
        "url": url,
        "query": query,
        "path_params": params,
        "headers": headers,
    }
    # One look over every text for what a database refuses; converted only when found.
    texts = [url, *query, *query.values(), *params, *params.values(), *headers, *headers.values()]
    try:
        clean = storable_as_is("".join(texts))
    except TypeError:  # not only text (a caller's own mapping): converted value by value
        clean = False
    return stored if clean else _storable_json(stored)


def _storable_json(value: dict[str, object]) -> dict[str, object]:
    return {storable(str(k)): _storable_value(v) for k, v in value.items()}


def _storable_value(value: object) -> object:
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable(str(k)): _storable_value(v) for k, v in value.items()}
    return value


#: Words that make a query, path or header name a secret's (matched on the lower-cased name).
_SECRET_WORDS = re.compile("secret|token|key|password|signature")


def _secret_name(name: str) -> bool:
    return _SECRET_WORDS.search(name.lower()) is not None


def _reply(route: WebhookRoute) -> web.Response:
    """The answer to a stored webhook: what its provider expects (encoded once per route)."""
    body, headers = _encoded(route.reply, route.reply_type)
    return web.Response(body=body, headers=headers)


@functools.lru_cache(maxsize=64)
def _encoded(text: str, content_type: str) -> tuple[bytes, dict[str, str]]:
    """``text`` as ``web.Response(text=text, content_type=content_type)`` sends it."""
    return text.encode(), {"Content-Type": f"{content_type}; charset=utf-8"}


def _plain(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text)
