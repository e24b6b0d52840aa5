"""Webhook POSTs answered straight from the low-level server (``Relay.answer_directly``): the
same answers as through the application, and everything else still routed by it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from core.relay.endpoints import installed_endpoints
from core.relay.server import direct_routes
from core.service import InboxService
from tests.relay_fakes import body, message
from tests.relay_harness import RunningRelay, running_relay


@contextmanager
def routed(relay: RunningRelay) -> Iterator[list[str]]:
    """The paths the application's router resolves meanwhile."""
    router: Any = relay.server.app.router
    resolve, paths = router.resolve, []

    async def counting(request: web.Request) -> Any:
        paths.append(request.method + " " + request.raw_path)
        return await resolve(request)

    router.resolve = counting
    try:
        yield paths
    finally:
        router.resolve = resolve


async def raw_post(relay: RunningRelay, path: str) -> int:
    """The status of an unsigned POST of ``{}`` to ``path`` sent exactly as written (an HTTP
    client would normalise the escapes)."""
    url = relay.server.make_url("/")
    reader, writer = await asyncio.open_connection(url.host, url.port)
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: {url.host}\r\nContent-Type: application/json\r\n"
        "Content-Length: 2\r\nConnection: close\r\n\r\n{}".encode()
    )
    status = int((await reader.readline()).split()[1])
    writer.close()
    await writer.wait_closed()
    return status


async def test_a_webhook_post_skips_the_router_and_is_stored(service: InboxService) -> None:
    async with running_relay(service) as relay:
        with routed(relay) as paths:
            code, content_type, _ = await relay.post(
                "/webhooks/twilio/sms", body(message("SM1", "+33612345678", "Bonjour"))
            )
            health = await relay.http.get(relay.url("/healthz"))
            assert health.status == 200
        assert (code, content_type) == (200, "text/xml")
        assert paths == ["GET /healthz"]
        [row] = await relay.stored()
        assert (row.dedupe_key, row.headers["path_params"]) == ("SM1", {})


async def test_forged_and_oversized_webhooks_are_refused_on_the_direct_path(
    service: InboxService,
) -> None:
    payload = body(message("SM1", "+33612345678", "Bonjour"))
    async with running_relay(service, max_body_bytes=1_000) as relay:
        with routed(relay) as paths:
            forged = await relay.post(
                "/webhooks/twilio/sms", payload, signed=False, headers={"X-Fake-Signature": "00"}
            )
            large = await relay.post("/webhooks/twilio/sms", b"x" * 2_000)
        assert (forged[0], large[0]) == (401, 413)
        assert paths == []
        assert await relay.stored() == []


async def test_queries_expect_and_escaped_paths_answer_as_the_application_does(
    service: InboxService,
) -> None:
    async with running_relay(service) as relay:
        with routed(relay) as paths:
            query = await relay.post(
                "/webhooks/twilio/sms?ref=a%3Ab", body(message("SM1", "+33612345678", "x"))
            )
            expect = await relay.post(
                "/webhooks/twilio/sms",
                body(message("SM2", "+33612345678", "y")),
                headers={"Expect": "100-continue"},
            )
            escaped = await raw_post(relay, "/webhooks/twilio/%73ms")
            wrong_method = await relay.http.put(relay.url("/webhooks/twilio/sms"), data=b"{}")
        assert (query[0], expect[0]) == (200, 200)
        assert (escaped, wrong_method.status) == (401, 405)
        # the query goes direct; Expect, the escaped path and the PUT through the router
        assert len(paths) == 3
        stored = await relay.stored()
        assert [row.dedupe_key for row in stored] == ["SM1", "SM2"]
        assert stored[0].headers["query"] == {"ref": "a:b"}


def test_only_paths_without_parameters_or_escapes_are_served_directly() -> None:
    routes = direct_routes(installed_endpoints())
    assert "/webhooks/twilio/sms" in routes and "/webhooks/vapi" in routes
    assert not any("{" in path for path in routes)
    every = {endpoint.route.path for endpoint in installed_endpoints()}
    assert {path for path in every if "{" not in path} == set(routes)
