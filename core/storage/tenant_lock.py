"""Turns for a tenant's transactions that change many messages at once (PostgreSQL).

Ingest applies a batch of status callbacks and the outbox writes a batch of send results, each
in one transaction that locks several messages, in an order the other cannot know (callbacks
arrive in any order). Two such transactions could each hold a message the other waits for. Both
take this transaction-scoped advisory lock as their first statement, so they take turns and
never deadlock; ingest's workers also apply a tenant's events in id order thanks to it. SQLite
has a single writer already: nothing to do there.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

#: The advisory lock class (the tenant id is the second key); ingest's since it was introduced.
MESSAGES_LOCK = 0x1A6E


async def lock_tenant_messages(session: AsyncSession, tenant_id: int) -> None:
    """Wait for this tenant's turn to change messages in bulk (until the transaction ends)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(MESSAGES_LOCK, tenant_id)))
