"""Feeding the relay's durable store without a public URL: polling the providers.

An adapter whose ``capabilities.polling`` is set fetches inbound events itself (Telegram's
``getUpdates``); each is stored exactly as a webhook body would be, under the same dedupe key,
so a message seen both ways is stored once, and ingest reads it with the adapter's usual
``parse``. The poll cursor only moves on once the events are committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from core.channels.adapter import ChannelAdapter, PolledEvent, WebhookRequest
from core.channels.errors import WebhookError
from core.errors import CoccinelleError
from core.pacing import Backoff
from core.relay.server import stored_headers
from core.relay.store import EventWriter, RawEvent, dedupe_key

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 60.0
#: Seconds a long poll waits for something new.
LONG_POLL_SECONDS = 25.0


class Poller:
    """Runs ``poll_once`` until stopped, backing off while the provider fails."""

    def __init__(
        self,
        writer: EventWriter,
        adapter: ChannelAdapter,
        tenant_id: int | None,
        *,
        wait: float = LONG_POLL_SECONDS,
        interval: float | None = None,
    ) -> None:
        self.writer = writer
        self.adapter = adapter
        self.tenant_id = tenant_id
        #: How long one poll may wait for events, and the pause between two polls.
        self.wait = wait
        self.interval = adapter.capabilities.poll_interval if interval is None else interval
        self.cursor: str | None = None

    async def poll_once(self) -> int:
        """Fetch and store what is new; returns how many events were stored."""
        stored = 0
        for event in await self.adapter.poll(self.cursor, self.wait):
            stored += await self._store(event)
            if event.cursor is not None:
                self.cursor = event.cursor
        return stored

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set."""
        backoff = Backoff(1.0, MAX_BACKOFF_SECONDS)
        while not stop.is_set():
            try:
                await self.poll_once()
                backoff.reset()
                pause = self.interval
            except (CoccinelleError, OSError) as exc:
                log.warning("%s polling failed: %s", self.adapter.provider, exc)
                pause = backoff.next()
            if pause:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=pause)

    async def _store(self, event: PolledEvent) -> bool:
        request = WebhookRequest(
            method="POST",
            url=f"poll://{event.endpoint}",
            headers={"content-type": event.content_type},
            body=event.body,
        )
        try:
            keys = self.adapter.dedupe_keys(request)
        except WebhookError as exc:
            log.warning("skipping a polled %s event: %s", event.endpoint, exc)
            return False
        stored = await self.writer.store(
            RawEvent(
                tenant_id=self.tenant_id,
                provider=str(self.adapter.provider),
                endpoint=event.endpoint,
                dedupe_key=dedupe_key(keys, event.body),
                content_type=event.content_type,
                headers=stored_headers(request, self.adapter.channel),
                body=event.body,
            )
        )
        return not stored.duplicate


def pollers_for(
    writer: EventWriter, adapters: list[ChannelAdapter], tenant_id: int | None
) -> list[Poller]:
    """A poller for each adapter that says it can be polled."""
    return [Poller(writer, a, tenant_id) for a in adapters if a.capabilities.polling]
