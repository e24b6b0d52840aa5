"""A relay running on loopback over a test database, with fake adapters and signed requests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from core.ingest.worker import IngestWorker
from core.relay.server import Relay, RelayConfig
from core.service import InboxService
from core.storage import tables as t
from tests.relay_fakes import FakeAdapters, sign

PUBLIC_URL = "https://relay.example.fr"
PULL_TOKEN = "pull-token-for-tests"


class RunningRelay:
    """A relay on a free loopback port, a client for it and the ingest worker of the tenant."""

    def __init__(self, service: InboxService, adapters: FakeAdapters, server: TestServer) -> None:
        self.service = service
        self.adapters = adapters
        self.server = server
        self.http = aiohttp.ClientSession()
        self.worker = IngestWorker(service.ctx, adapters)

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    async def post(
        self,
        path: str,
        data: bytes,
        *,
        secret: str | None = None,
        signed: bool = True,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str, str]:
        """POST ``data``; returns status, content type and text of the answer."""
        sent = {"Content-Type": "application/json", **(headers or {})}
        if signed:
            kwargs: dict[str, Any] = {"secret": secret} if secret else {}
            sent["X-Fake-Signature"] = sign(PUBLIC_URL + path, data, **kwargs)
        async with self.http.post(self.url(path), data=data, headers=sent) as response:
            return response.status, response.content_type, await response.text()

    async def stored(self) -> list[t.InboundEventRow]:
        async with self.service.db.session() as session:
            query = select(t.InboundEventRow).order_by(t.InboundEventRow.id)
            return list((await session.execute(query)).scalars().all())

    async def count(self, table: type[t.Base]) -> int:
        async with self.service.db.session() as session:
            return (await session.execute(select(func.count()).select_from(table))).scalar_one()


@asynccontextmanager
async def running_relay(
    service: InboxService, adapters: FakeAdapters | None = None, **config: Any
) -> AsyncIterator[RunningRelay]:
    """Start a relay for ``service``'s tenant; stop it afterwards."""
    adapters = adapters or FakeAdapters()
    settings = {
        "tenant_id": service.ctx.tenant_id,
        "public_url": PUBLIC_URL,
        "pull_tokens": {PULL_TOKEN: service.ctx.tenant_id},
        **config,
    }
    relay = Relay(service.db, adapters, RelayConfig(**settings))
    server = TestServer(relay.app(), host="127.0.0.1")
    await server.start_server()
    relay.answer_directly(server.runner.server)  # as ``coccinelle relay`` serves
    running = RunningRelay(service, adapters, server)
    try:
        yield running
    finally:
        await running.http.close()
        await server.close()
