"""The audit trail: who did what (assign, close, snooze, merge, template and settings edits…).

Write an entry in the same transaction as the change it describes, so that one never exists
without the other:

    async with ctx.write() as (session, events):
        ...change rows...
        await audit.record(session, ctx, "assign", "conversation", conversation_id, to=agent_id)

Actions recorded by the facade: ``assign``, ``set_status``, ``snooze``, ``set_priority``,
``set_labels`` (conversation), ``switch_channel`` (the new conversation, with ``source`` the old
one), ``merge`` (prospect), ``template_save``, ``template_delete``, ``settings_save``,
``channel_setup``; ``auto_assign`` by ``core.team.assignment`` (called by the ingest for each
conversation a prospect opens). Code outside the facade records its own the same way
(``record_for`` when there is no ``ServiceContext``).

Details are small JSON values that say what changed; keys that look like secrets are dropped and
long texts are cut, so the trail can be shown to any agent.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import InvalidInput
from core.storage import tables as t

if TYPE_CHECKING:
    from core.storage.service_context import ServiceContext

A = t.AuditLogRow
MAX_TEXT = 200
_SECRET_WORDS = ("secret", "token", "password", "passwd", "api_key", "apikey", "auth", "credential")


class AuditEntry(BaseModel):
    """One recorded action."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    id: int
    agent_id: int | None
    agent_name: str | None
    action: str
    subject_type: str
    subject_id: int | None
    details: dict[str, Any]
    created_at: datetime


async def record(
    session: AsyncSession,
    ctx: ServiceContext,
    action: str,
    subject_type: str,
    subject_id: int | None,
    **details: Any,
) -> None:
    """Add an entry for the agent of ``ctx`` (None: the system) to the current transaction.

    Args:
        session: the transaction that makes the change.
        ctx: gives the tenant, the agent and the time.
        action: what was done, e.g. ``assign``, ``set_status``, ``template_save``.
        subject_type: what it was done to, e.g. ``conversation``, ``template``, ``settings``.
        subject_id: which one (None for tenant-wide things such as settings).
        **details: what changed; JSON values, never secrets.
    """
    await record_for(
        session,
        tenant_id=ctx.tenant_id,
        agent_id=ctx.agent_id,
        at=ctx.now(),
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        **details,
    )


async def record_for(
    session: AsyncSession,
    *,
    tenant_id: int,
    agent_id: int | None,
    at: datetime,
    action: str,
    subject_type: str,
    subject_id: int | None,
    **details: Any,
) -> None:
    """``record`` without a service context (the ingest and workers have none)."""
    session.add(
        A(
            tenant_id=tenant_id,
            agent_id=agent_id,
            action=action[:50],
            subject_type=subject_type[:30],
            subject_id=subject_id,
            details=scrub(details),
            created_at=at,
        )
    )


def scrub(value: Any) -> Any:
    """``value`` made safe to keep: secret-looking keys dropped, long texts cut, JSON types only."""
    if isinstance(value, dict):
        return {
            str(k): scrub(v)
            for k, v in value.items()
            if not any(word in str(k).lower() for word in _SECRET_WORDS)
        }
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [scrub(v) for v in items]
    if value is None or isinstance(value, bool | int | float):
        return value
    shown = str(value)
    return shown if len(shown) <= MAX_TEXT else shown[: MAX_TEXT - 1] + "…"


class AuditTrail:
    """Reading the audit trail (``service.audit``)."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def recent(
        self, limit: int = 50, subject: tuple[str, int | None] | None = None
    ) -> list[AuditEntry]:
        """The newest entries first, optionally only those about ``(subject_type, subject_id)``."""
        if not 1 <= limit <= 1000:
            raise InvalidInput("limit", limit, "a number of entries between 1 and 1000")
        query = (
            select(A, t.AgentRow.name)
            .outerjoin(t.AgentRow, t.AgentRow.id == A.agent_id)
            .where(A.tenant_id == self.ctx.tenant_id)
        )
        if subject is not None:
            query = query.where(A.subject_type == subject[0])
            if subject[1] is not None:
                query = query.where(A.subject_id == subject[1])
        query = query.order_by(A.id.desc()).limit(limit)
        async with self.ctx.db.session() as session:
            rows = (await session.execute(query)).all()
        return [
            AuditEntry(
                id=row.id,
                agent_id=row.agent_id,
                agent_name=name,
                action=row.action,
                subject_type=row.subject_type,
                subject_id=row.subject_id,
                details=row.details or {},
                created_at=row.created_at,
            )
            for row, name in rows
        ]
