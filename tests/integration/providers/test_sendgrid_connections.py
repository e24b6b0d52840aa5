"""SendGrid: the SDK's requests go over kept-alive connections, not one connection per mail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from core.channels.adapter import AdapterConfig, OutgoingMessage
from core.channels.errors import TransientProviderError
from core.domain.enums import Channel
from providers.sendgrid.adapter import SendGridAdapter


class _Api:
    """A Mail Send endpoint that notes the client's port and headers of each request."""

    def __init__(self) -> None:
        self.peers: list[Any] = []
        self.headers: list[dict[str, str]] = []
        self.answer = 202

    async def send(self, request: web.Request) -> web.Response:
        self.peers.append(
            request.transport.get_extra_info("peername") if request.transport else None
        )
        self.headers.append({k.lower(): v for k, v in request.headers.items()})
        await request.json()
        if self.answer != 202:
            body = b'{"errors": [{"message": "too many"}]}'
            return web.Response(status=self.answer, body=body, headers={"Retry-After": "7"})
        return web.Response(status=202, headers={"X-Message-Id": f"m{len(self.peers)}"})


@pytest.fixture
async def api() -> AsyncIterator[tuple[_Api, str]]:
    found = _Api()
    app = web.Application()
    app.router.add_post("/v3/mail/send", found.send)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield found, f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


def _adapter(url: str) -> SendGridAdapter:
    config = AdapterConfig(
        base_url=url, credentials={"api_key": "SG.key"}, options={"from_email": "a@b.fr"}
    )
    return SendGridAdapter(config)


def _mail(n: int) -> OutgoingMessage:
    return OutgoingMessage(channel=Channel.EMAIL, to=f"p{n}@example.fr", subject="s", text="t")


async def test_mails_share_one_connection_with_the_sdks_headers(api) -> None:
    found, url = api
    adapter = _adapter(url)
    try:
        ids = [(await adapter.send(_mail(n))).provider_message_id for n in range(3)]
    finally:
        await adapter.close()
    assert ids == ["m1", "m2", "m3"]
    assert len(set(found.peers)) == 1  # one connection kept alive, not one per mail
    sdk = adapter._sendgrid().client.request_headers
    for headers in found.headers:
        assert headers["authorization"] == sdk["Authorization"] == "Bearer SG.key"
        assert headers["user-agent"] == sdk["User-Agent"]
        assert headers["accept"] == "application/json"
        assert headers["content-type"] == "application/json"


async def test_an_error_answer_maps_as_the_sdks_error(api) -> None:
    found, url = api
    found.answer = 429
    adapter = _adapter(url)
    try:
        with pytest.raises(TransientProviderError) as raised:
            await adapter.send(_mail(0))
    finally:
        await adapter.close()
    assert raised.value.status == 429
    assert raised.value.retry_after == 7.0
    assert "too many" in str(raised.value)
