"""Inbound events that could not be applied: listed, explained and retried by an operator.

    parked = await service.inbound_events.parked()     # [FailedEvent(id, endpoint, error, ...)]
    detail = await service.inbound_events.show(42)      # headers and a cleaned body preview
    await service.inbound_events.retry([42])            # back in the ingest queue (None: all)

Nothing is ever dropped: what ingest gave up on waits here with its reason (see
``core.ingest.retry``); ``retry`` puts it back as new, and the relay's worker applies it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from core.domain.enums import InboundEventStatus
from core.errors import NotFound
from core.sanitize import clean_text
from core.storage import tables as t
from core.storage.rows_changed import execute_changes
from core.storage.service_context import ServiceContext

E = t.InboundEventRow
#: Statuses an operator has to look at (``failed`` is what versions before 0006 left).
STUCK = (InboundEventStatus.PARKED, InboundEventStatus.FAILED)
PREVIEW_CHARS = 2000


@dataclass(frozen=True, slots=True)
class FailedEvent:
    """An event ingest could not apply, and why."""

    id: int
    provider: str
    endpoint: str
    channel: str
    status: str
    attempts: int
    error: str
    received_at: datetime
    next_attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class EventDetail:
    """One stored event as an operator inspects it: what it is, why it failed, what it says."""

    event: FailedEvent
    content_type: str | None
    headers: dict[str, Any]
    body_bytes: int
    body_preview: str


class InboundEvents:
    """The tenant's stored provider events that need an operator."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def parked(self, limit: int = 200) -> list[FailedEvent]:
        """Events ingest gave up on, oldest first."""
        query = (
            select(E)
            .where(E.tenant_id == self.ctx.tenant_id, E.status.in_(STUCK))
            .order_by(E.id)
            .limit(limit)
        )
        async with self.ctx.db.session() as session:
            return [_failed(row) for row in (await session.execute(query)).scalars()]

    async def retrying(self, limit: int = 200) -> list[FailedEvent]:
        """Events that failed and wait for their next attempt."""
        query = (
            select(E)
            .where(
                E.tenant_id == self.ctx.tenant_id,
                E.status == InboundEventStatus.PENDING,
                E.next_attempt_at.is_not(None),
            )
            .order_by(E.id)
            .limit(limit)
        )
        async with self.ctx.db.session() as session:
            return [_failed(row) for row in (await session.execute(query)).scalars()]

    async def count_parked(self) -> int:
        """How many events wait for an operator."""
        query = select(func.count()).where(E.tenant_id == self.ctx.tenant_id, E.status.in_(STUCK))
        async with self.ctx.db.session() as session:
            return int((await session.execute(query)).scalar_one())

    async def show(self, event_id: int) -> EventDetail:
        """One event of the tenant, its body cleaned for a terminal.

        Raises:
            NotFound: no such event for this tenant.
        """
        async with self.ctx.db.session() as session:
            row = await session.get(E, event_id)
        if row is None or row.tenant_id != self.ctx.tenant_id:
            raise NotFound("inbound event", event_id)
        text = row.body.decode("utf-8", errors="replace")
        return EventDetail(
            event=_failed(row),
            content_type=row.content_type,
            headers=dict(row.headers or {}),
            body_bytes=len(row.body),
            body_preview=clean_text(text[:PREVIEW_CHARS]),
        )

    async def retry(self, ids: Sequence[int] | None = None) -> int:
        """Put parked events (``ids``, or all of them) back in the ingest queue; how many."""
        query = (
            update(E)
            .where(E.tenant_id == self.ctx.tenant_id, E.status.in_(STUCK))
            .values(status=InboundEventStatus.PENDING, attempts=0, next_attempt_at=None)
        )
        if ids is not None:
            query = query.where(E.id.in_(list(ids)))
        async with self.ctx.db.session() as session:
            return await execute_changes(session, query)


def _failed(row: E) -> FailedEvent:
    return FailedEvent(
        id=row.id,
        provider=row.provider,
        endpoint=row.endpoint,
        channel=str((row.headers or {}).get("channel") or ""),
        status=row.status,
        attempts=row.attempts,
        error=row.error or "",
        received_at=row.received_at,
        next_attempt_at=row.next_attempt_at,
    )
