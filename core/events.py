"""The in-process event bus: the core publishes what changed, a UI refreshes only that.

Subscribers get an ``asyncio.Queue``; a slow subscriber never blocks the publisher (its queue is
bounded and, when full, it is told to reload everything with ``Resync``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConversationChanged:
    """A conversation's row changed (new message, status, assignee, labels…)."""

    conversation_id: int


@dataclass(frozen=True, slots=True)
class MessageChanged:
    """A message was added or its status moved."""

    message_id: int
    conversation_id: int


@dataclass(frozen=True, slots=True)
class ProspectChanged:
    """A prospect's details changed (or two prospects were merged)."""

    prospect_id: int


@dataclass(frozen=True, slots=True)
class AppointmentChanged:
    """An appointment was created, moved, confirmed or cancelled."""

    appointment_id: int


@dataclass(frozen=True, slots=True)
class Alert:
    """Something an agent must see (budget threshold crossed, a channel failing…)."""

    key: str
    message: str


@dataclass(frozen=True, slots=True)
class Resync:
    """The subscriber fell behind: reload everything."""


@dataclass(frozen=True, slots=True)
class ConnectionState:
    """Team mode: the live link to the shared database was lost (``online`` False) or is back."""

    online: bool


@dataclass(frozen=True, slots=True)
class PresenceChanged:
    """Team mode: the agents viewing this conversation changed."""

    conversation_id: int


@dataclass(frozen=True, slots=True)
class OutboxQueued:
    """Something was queued to send: idle outbox workers (in every process) look now."""


@dataclass(frozen=True, slots=True)
class SettingsChanged:
    """The tenant's settings changed: ``channels`` (a channel turned on or off, its set-up),
    ``credentials`` (a secret stored) or ``settings`` (quiet hours, rules…). The engine's parts
    apply it at once."""

    what: str


Event = (
    OutboxQueued
    | SettingsChanged
    | ConversationChanged
    | MessageChanged
    | ProspectChanged
    | AppointmentChanged
    | Alert
    | Resync
    | ConnectionState
    | PresenceChanged
)

#: Receives every event published with ``forward=True`` (team mode sends them to other processes).
Forwarder = Callable[[Event], None]


class EventBus:
    """Fan-out of core events to any number of subscribers."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._queue_size = queue_size
        self._subscribers: set[asyncio.Queue[Event]] = set()
        self.forwarder: Forwarder | None = None
        """Also handed every event published with ``forward=True`` (see ``core.team.pg_listen``)."""

    def publish(self, event: Event, *, forward: bool = True) -> None:
        """Deliver ``event`` to every subscriber without waiting.

        Args:
            event: what changed.
            forward: also hand it to the forwarder; False for events that came from elsewhere.
        """
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                _drain(queue)
                queue.put_nowait(Resync())
        if forward and self.forwarder is not None:
            self.forwarder(event)

    def publish_all(self, events: list[Event], *, forward: bool = True) -> None:
        """Publish several events, each once, in order."""
        for event in dict.fromkeys(events):
            self.publish(event, forward=forward)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Event]]:
        """A queue receiving every event published while the context is open."""
        queue: asyncio.Queue[Event] = asyncio.Queue(self._queue_size)
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)


def _drain(queue: asyncio.Queue[Event]) -> None:
    while not queue.empty():
        queue.get_nowait()
