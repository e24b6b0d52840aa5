"""Two (or more) app cores on one PostgreSQL schema, as two agents' machines would have."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from core.config.settings import load_settings
from core.events import Event
from core.service import InboxService


async def open_core(schema: Any, agent: str | None = None) -> InboxService:
    """A service with its own database handle and bus on ``schema``, its live link started."""
    db = await schema.open()
    settings = load_settings(agent=agent) if agent else None
    service = await InboxService.connect(db, "acme", settings=settings)
    service.team.bridge._retry_delays = (0.05, 0.1, 0.2)
    await service.team.start()
    return service


async def next_event(
    queue: asyncio.Queue[Event], wanted: Callable[[Event], bool], timeout: float = 10.0
) -> Event:
    """The first event from ``queue`` that ``wanted`` accepts (others are skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            event = await queue.get()
            if wanted(event):
                return event


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until ``check()`` is true."""
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)
