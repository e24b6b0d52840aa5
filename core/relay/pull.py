"""The pull API: a core with no public URL fetches stored events from a remote relay.

    GET  /events?after=CURSOR&wait=SECONDS   -> {"events": [...], "cursor": last id}
    POST /events/ack  {"ids": [...]}          -> {"acked": n}

The cursor is an event id. Events stay deliverable until acknowledged. Each bearer token reads
one tenant's events only; tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import json
import math
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy import select, update

from core.relay.limits import RateLimiter
from core.storage import tables as t
from core.storage.rows_changed import execute_changes

if TYPE_CHECKING:
    from core.relay.server import Relay

E = t.InboundEventRow
PAGE_SIZE = 200
MAX_WAIT_SECONDS = 30.0
#: Largest event id a query may name (a 64-bit integer column), and ids per acknowledgement.
MAX_ID = 2**63 - 1
MAX_ACK = 1000


class PullApi:
    """The two routes of the pull API, sharing the relay's database and writer."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self._arrived = asyncio.Event()
        self.failed_auth = RateLimiter(*relay.config.pull_failed_auth)
        self.per_tenant = RateLimiter(*relay.config.pull_per_tenant)
        relay.writer.on_commit.append(self._wake)

    def install(self, app: web.Application) -> None:
        """Add the routes to ``app``."""
        app.router.add_get("/events", self.events)
        app.router.add_post("/events/ack", self.ack)

    def _wake(self) -> None:
        self._arrived.set()
        self._arrived = asyncio.Event()

    def admit(self, request: web.Request) -> int | web.Response:
        """The tenant of an authorised request within its limits, else the answer to give.

        The token is checked first: a valid token is only limited per tenant, never by other
        clients' wrong guesses. Wrong tokens are limited per client address, as seen through
        the trusted proxies (behind a proxy every client would otherwise share its address).
        """
        tenant_id = self.tenant_of(request)
        if tenant_id is not None:
            wait = self.per_tenant.take(tenant_id)
            return _too_many(wait) if wait else tenant_id
        address = self.relay.client(request)
        wait = self.failed_auth.blocked(address)
        if wait:
            return _too_many(wait)
        self.failed_auth.take(address)
        return _unauthorized()

    def tenant_of(self, request: web.Request) -> int | None:
        """The tenant the request's bearer token may read, or None."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        for known, tenant_id in self.relay.config.pull_tokens.items():
            if hmac.compare_digest(known.encode(), token.strip().encode()):
                return tenant_id
        return None

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Unacknowledged events after the cursor, waiting up to ``wait`` seconds for some."""
        tenant_id = self.admit(request)
        if isinstance(tenant_id, web.Response):
            return tenant_id
        try:
            after = int(request.query.get("after", "0") or 0)
            wait = float(request.query.get("wait", "0") or 0)
            if abs(after) > MAX_ID or not math.isfinite(wait):
                raise ValueError("out of range")
            wait = min(wait, MAX_WAIT_SECONDS)
        except ValueError:
            return web.json_response({"error": "after and wait must be numbers"}, status=400)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(wait, 0.0)
        while True:
            arrived = self._arrived
            rows = await self._unacked(tenant_id, after)
            remaining = deadline - loop.time()
            if rows or remaining <= 0:
                break
            # another process may write too: look again at least every second
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrived.wait(), timeout=min(remaining, 1.0))
        cursor = rows[-1].id if rows else after
        return web.json_response({"events": [_event_json(r) for r in rows], "cursor": cursor})

    async def ack(self, request: web.Request) -> web.StreamResponse:
        """Mark events as received by the remote core; they are not delivered again."""
        tenant_id = self.admit(request)
        if isinstance(tenant_id, web.Response):
            return tenant_id
        try:
            document = json.loads(await request.read())
            ids = [int(i) for i in document["ids"]]
            if len(ids) > MAX_ACK or any(abs(i) > MAX_ID for i in ids):
                raise ValueError("out of range")
        except (ValueError, KeyError, TypeError, OverflowError):
            return web.json_response({"error": 'expected {"ids": [event ids]}'}, status=400)
        async with self.relay.db.session() as session:
            acked = await execute_changes(
                session,
                update(E).where(E.id.in_(ids), E.tenant_id == tenant_id).values(acked=True),
            )
        return web.json_response({"acked": acked})

    async def _unacked(self, tenant_id: int, after: int) -> list[E]:
        query = (
            select(E)
            .where(E.tenant_id == tenant_id, E.id > after, E.acked.is_(False))
            .order_by(E.id)
            .limit(PAGE_SIZE)
        )
        async with self.relay.db.session() as session:
            return list((await session.execute(query)).scalars().all())


def _event_json(row: E) -> dict[str, Any]:
    return {
        "id": row.id,
        "provider": row.provider,
        "endpoint": row.endpoint,
        "dedupe_key": row.dedupe_key,
        "content_type": row.content_type,
        "headers": row.headers,
        "body": base64.b64encode(row.body).decode("ascii"),
        "received_at": row.received_at.isoformat(),
    }


def _unauthorized() -> web.Response:
    return web.json_response(
        {"error": "a valid bearer token is required"},
        status=401,
        headers={"WWW-Authenticate": "Bearer"},
    )


def _too_many(wait: float) -> web.Response:
    return web.json_response(
        {"error": "too many requests"}, status=429, headers={"Retry-After": str(math.ceil(wait))}
    )
