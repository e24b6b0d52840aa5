"""Feeding the relay's durable store without a public URL: polling the providers.

Telegram updates are read by long polling (``getUpdates``) and Twilio inbound messages by listing
them; each is stored exactly as a webhook body would be, under the same dedupe key, so a message
seen both ways is stored once, and ingest reads it with the adapter's usual ``parse``. The poll
offset only moves on once the events are committed.

Adapters opt in through duck-typed methods:
``get_updates(offset, timeout) -> list[dict]`` (Telegram) and
``poll_inbound() -> list[dict[str, str]]`` (Twilio: recent inbound messages as webhook forms).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from abc import ABC, abstractmethod
from typing import Any
from urllib.parse import urlencode

from core.channels.adapter import ChannelAdapter, WebhookRequest
from core.channels.errors import WebhookError
from core.errors import CoccinelleError
from core.pacing import Backoff
from core.relay.endpoints import status_channel, twilio_form
from core.relay.server import stored_headers
from core.relay.store import EventWriter, RawEvent, dedupe_key

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 60.0


class Poller(ABC):
    """Base: run ``poll_once`` until stopped, backing off while the provider fails."""

    interval = 0.0

    def __init__(self, writer: EventWriter, adapter: ChannelAdapter, tenant_id: int | None) -> None:
        self.writer = writer
        self.adapter = adapter
        self.tenant_id = tenant_id

    @abstractmethod
    async def poll_once(self) -> int:
        """Fetch and store what is new; returns how many events were stored."""

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

    async def _store(self, endpoint: str, body: bytes, content_type: str) -> bool:
        request = WebhookRequest(
            method="POST",
            url=f"poll://{endpoint}",
            headers={"content-type": content_type},
            body=body,
        )
        try:
            keys = self.adapter.dedupe_keys(request)
        except WebhookError as exc:
            log.warning("skipping a polled %s event: %s", endpoint, exc)
            return False
        channel = (
            status_channel(twilio_form(body))
            if endpoint.startswith("twilio")
            else self.adapter.channel
        )
        stored = await self.writer.store(
            RawEvent(
                tenant_id=self.tenant_id,
                provider=str(self.adapter.provider),
                endpoint=endpoint,
                dedupe_key=dedupe_key(keys, body),
                content_type=content_type,
                headers=stored_headers(request, channel),
                body=body,
            )
        )
        return not stored.duplicate


class TelegramPoller(Poller):
    """Long polling of a Telegram bot (its webhook must be deleted first)."""

    def __init__(
        self,
        writer: EventWriter,
        adapter: ChannelAdapter,
        tenant_id: int | None,
        *,
        timeout: int = 25,
    ) -> None:
        super().__init__(writer, adapter, tenant_id)
        self.timeout = timeout
        self.offset: int | None = None

    async def poll_once(self) -> int:
        """One ``getUpdates`` call; the offset moves past what was committed."""
        updates: list[dict[str, Any]] = await self.adapter.get_updates(  # type: ignore[attr-defined]
            offset=self.offset, timeout=self.timeout
        )
        stored = 0
        for update in updates:
            body = json.dumps(update, ensure_ascii=False, separators=(",", ":")).encode()
            stored += await self._store("telegram/poll", body, "application/json")
            self.offset = int(update["update_id"]) + 1
        return stored


class TwilioPoller(Poller):
    """Listing recent inbound Twilio messages every ``interval`` seconds."""

    def __init__(
        self,
        writer: EventWriter,
        adapter: ChannelAdapter,
        tenant_id: int | None,
        *,
        interval: float = 10.0,
    ) -> None:
        super().__init__(writer, adapter, tenant_id)
        self.interval = interval

    async def poll_once(self) -> int:
        """Store every listed message not stored yet (the dedupe key drops the others)."""
        forms: list[dict[str, str]] = await self.adapter.poll_inbound()  # type: ignore[attr-defined]
        stored = 0
        for form in forms:
            endpoint = f"twilio/{self.adapter.channel}/poll"
            body = urlencode(form).encode()
            stored += await self._store(endpoint, body, "application/x-www-form-urlencoded")
        return stored


def pollers_for(
    writer: EventWriter, adapters: list[ChannelAdapter], tenant_id: int | None
) -> list[Poller]:
    """A poller for each adapter that can be polled."""
    found: list[Poller] = []
    for adapter in adapters:
        if hasattr(adapter, "get_updates"):
            found.append(TelegramPoller(writer, adapter, tenant_id))
        elif hasattr(adapter, "poll_inbound"):
            found.append(TwilioPoller(writer, adapter, tenant_id))
    return found
