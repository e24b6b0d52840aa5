"""Automatic round-robin assignment of new conversations (``TenantSettings.auto_assign``).

The ingest (``core.ingest.apply``) calls ``assign_new_conversation`` in the transaction that
created the conversation, for conversations a prospect opens by writing or calling. Conversations
the agency opens (a reply, a campaign, a channel switch) are not auto-assigned.
Active agents take turns in the order of their ids; the turn is the agent after the one named by
the tenant's latest ``auto_assign`` audit entry, so the rotation survives restarts and is shared
by every relay. The tenant's row is locked first (``SELECT … FOR NO KEY UPDATE`` on PostgreSQL),
so two relays assigning at once take turns instead of both picking the same agent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.tenant_settings import TenantSettings
from core.storage import tables as t
from core.storage.types import utcnow
from core.team.audit import record_for

ACTION = "auto_assign"


async def assign_new_conversation(
    session: AsyncSession,
    conversation: t.ConversationRow,
    *,
    at: datetime | None = None,
) -> int | None:
    """Give ``conversation`` to the next agent if the tenant wants it; returns the agent's id.

    Does nothing (returns None) when auto-assignment is off, when the conversation already has
    an assignee, or when the tenant has no active agent.
    """
    if conversation.assignee_id is not None:
        return None
    tenant = await _lock_tenant(session, conversation.tenant_id)
    if not TenantSettings.model_validate(tenant.settings or {}).auto_assign:
        return None
    agent_id = await next_agent(session, conversation.tenant_id)
    if agent_id is None:
        return None
    conversation.assignee_id = agent_id
    await session.flush()
    await record_for(
        session,
        tenant_id=conversation.tenant_id,
        agent_id=None,
        at=at or utcnow(),
        action=ACTION,
        subject_type="conversation",
        subject_id=conversation.id,
        to=agent_id,
    )
    await session.flush()
    return agent_id


async def next_agent(session: AsyncSession, tenant_id: int) -> int | None:
    """The active agent whose turn it is (call with the tenant row locked)."""
    agents = (
        (
            await session.execute(
                select(t.AgentRow.id)
                .where(t.AgentRow.tenant_id == tenant_id, t.AgentRow.active.is_(True))
                .order_by(t.AgentRow.id)
            )
        )
        .scalars()
        .all()
    )
    if not agents:
        return None
    last = await _last_assigned(session, tenant_id)
    later = [agent for agent in agents if last is not None and agent > last]
    return later[0] if later else agents[0]


async def _lock_tenant(session: AsyncSession, tenant_id: int) -> t.TenantRow:
    # FOR NO KEY UPDATE, not FOR UPDATE: inserting the conversation already holds a KEY SHARE
    # lock on the tenant row (its foreign key), which FOR UPDATE would wait on: two relays would
    # deadlock. NO KEY UPDATE still excludes the other relay's same lock.
    query = select(t.TenantRow).where(t.TenantRow.id == tenant_id).with_for_update(key_share=True)
    return (await session.execute(query)).scalar_one()


async def _last_assigned(session: AsyncSession, tenant_id: int) -> int | None:
    query = (
        select(t.AuditLogRow.details)
        .where(t.AuditLogRow.tenant_id == tenant_id, t.AuditLogRow.action == ACTION)
        .order_by(t.AuditLogRow.id.desc())
        .limit(1)
    )
    details = (await session.execute(query)).scalar_one_or_none()
    value = (details or {}).get("to")
    return value if isinstance(value, int) else None
