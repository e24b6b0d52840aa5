"""The remote core's side of the pull API: fetch a relay's events into the local store.

    puller = RemotePuller(writer, "https://relay.example.fr", token, tenant_id)
    await puller.run(stop)        # long-polls, stores, then acknowledges

Events are acknowledged only after they are committed locally, so a crash between the two
means the relay delivers them again, and the local dedupe key stores them once.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from typing import Any

import aiohttp

from core.pacing import Backoff
from core.relay.store import EventWriter, RawEvent

log = logging.getLogger(__name__)
WAIT_SECONDS = 25
MAX_BACKOFF_SECONDS = 60.0


class RemotePuller:
    """Moves events from a remote relay into this core's ``inbound_events``."""

    def __init__(
        self,
        writer: EventWriter,
        relay_url: str,
        token: str,
        tenant_id: int,
        wait: int = WAIT_SECONDS,
    ) -> None:
        self.writer = writer
        self.relay_url = relay_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self.tenant_id = tenant_id
        self.wait = wait
        self.cursor = 0

    async def pull_once(self, http: aiohttp.ClientSession) -> int:
        """One long poll: store what came, acknowledge it; returns how many events."""
        events = await self.fetch(http)
        for event in events:
            await self.writer.store(self._raw(event))
        if events:
            ids = [int(event["id"]) for event in events]
            await self.acknowledge(http, ids)
            self.cursor = max(ids)
        return len(events)

    async def fetch(self, http: aiohttp.ClientSession) -> list[dict[str, Any]]:
        """The relay's unacknowledged events after the cursor (waiting up to ``wait``)."""
        params = {"after": str(self.cursor), "wait": str(self.wait)}
        url = f"{self.relay_url}/events"
        async with http.get(url, params=params, headers=self._headers) as response:
            if response.status != 200:
                raise ConnectionError(f"the relay answered {response.status} to /events")
            return list((await response.json()).get("events") or [])

    async def acknowledge(self, http: aiohttp.ClientSession, ids: list[int]) -> None:
        """Tell the relay these events are safely stored here."""
        url = f"{self.relay_url}/events/ack"
        async with http.post(url, json={"ids": ids}, headers=self._headers) as response:
            if response.status != 200:
                raise ConnectionError(f"the relay answered {response.status} to /events/ack")

    async def run(self, stop: asyncio.Event) -> None:
        """Pull until ``stop`` is set, backing off while the relay cannot be reached."""
        backoff = Backoff(1.0, MAX_BACKOFF_SECONDS)
        timeout = aiohttp.ClientTimeout(total=self.wait + 30)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while not stop.is_set():
                try:
                    await self.pull_once(http)
                    backoff.reset()
                except (aiohttp.ClientError, ConnectionError, TimeoutError, ValueError) as exc:
                    log.warning("pulling from the relay failed: %s", exc)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=backoff.next())

    def _raw(self, event: dict[str, Any]) -> RawEvent:
        return RawEvent(
            tenant_id=self.tenant_id,
            provider=str(event["provider"]),
            endpoint=str(event["endpoint"]),
            dedupe_key=str(event["dedupe_key"]),
            content_type=event.get("content_type"),
            headers=dict(event.get("headers") or {}),
            body=base64.b64decode(event["body"]),
        )
