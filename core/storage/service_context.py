"""What every part of the service shares: the database, the event bus, the tenant, the clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core.events import Event, EventBus
from core.storage.database import Database, announce_with_commit, was_announced
from core.storage.types import utcnow


@dataclass
class ServiceContext:
    """Shared by the facade's parts; built once at start.

    ``clock`` is injectable so that tests can move time (retries, reminders, snoozes).
    """

    db: Database
    bus: EventBus
    tenant_id: int
    agent_id: int | None = None
    clock: Callable[[], datetime] = field(default=utcnow)

    def now(self) -> datetime:
        """The current time (UTC, aware)."""
        return self.clock()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[tuple[AsyncSession, list[Event]]]:
        """A transaction and a list of events to publish once it has committed.

        Events are only published after the commit, so a subscriber that reloads never sees
        the old state. In team mode they reach other processes with the commit itself.
        """
        events: list[Event] = []
        async with self.db.session() as session:
            announce_with_commit(session, events)
            yield session, events
        self.bus.publish_all(events, forward=not was_announced(session))
