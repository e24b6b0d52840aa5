"""Two (or more) app cores on one PostgreSQL schema, as two agents' machines would have."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from core.config.settings import load_settings
from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, MessageType, Provider
from core.events import Event
from core.service import InboxService
from core.storage import tables as t


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


async def broadcast_sms(service: InboxService, sandbox: Any, recipients: int, text: str) -> None:
    """Queue one SMS to each of ``recipients`` new prospects, through the sandbox's Twilio.

    Quiet hours are off so that every row is due now, whatever the real clock says.
    """
    options = {"base_url": sandbox.base_urls["twilio"], **sandbox.options["twilio_sms"]}
    await service.tenant_settings.save_channel(
        Channel.SMS, provider=Provider.TWILIO, config=options
    )
    settings = await service.tenant_settings.get()
    settings.quiet_hours.enabled = False
    await service.tenant_settings.save(settings)
    async with service.db.session() as session:
        session.add_all(
            t.ProspectRow(
                tenant_id=service.ctx.tenant_id,
                display_name=f"Prospect {i}",
                phone=f"+336{i:08d}",
                opted_out_channels=[],
            )
            for i in range(recipients)
        )
    async with service.db.session() as session:
        ids = (await session.execute(select(t.ProspectRow.id))).scalars().all()
    await service.outbound.broadcast(
        ids, ReplyDraft(text=text, message_type=MessageType.NOTIFICATION)
    )
