"""Tenants and agents."""

from __future__ import annotations

from sqlalchemy import func, select

from core.domain import models as m
from core.errors import InvalidInput
from core.storage import convert
from core.storage import tables as t
from core.storage.database import Database
from core.storage.demo_marks import DEMO_MARKER, DEMO_STARTED


async def no_tenant_yet(db: Database) -> bool:
    """Whether no tenant exists yet (a database just created)."""
    async with db.session() as session:
        count = (await session.execute(select(func.count()).select_from(t.TenantRow))).scalar_one()
    return count == 0


async def unfinished_demo(db: Database) -> bool:
    """Whether the database holds demo data whose seeding did not finish (the first start quit
    while it seeded): marked as started, never as done."""
    log = t.AuditLogRow
    query = select(log.action).where(log.action.in_((DEMO_STARTED, DEMO_MARKER)))
    async with db.session() as session:
        actions = set((await session.execute(query)).scalars())
    return DEMO_STARTED in actions and DEMO_MARKER not in actions


async def ensure_tenant(db: Database, slug: str, name: str | None = None) -> int:
    """The id of the tenant ``slug``, created (with default settings) if missing."""
    async with db.session() as session:
        query = select(t.TenantRow.id).where(t.TenantRow.slug == slug)
        found = (await session.execute(query)).scalar_one_or_none()
        if found is not None:
            return found
        row = t.TenantRow(slug=slug, name=name or slug, settings={})
        session.add(row)
        await session.flush()
        return row.id


class Agents:
    """The agents of a tenant."""

    def __init__(self, db: Database, tenant_id: int) -> None:
        self.db = db
        self.tenant_id = tenant_id

    async def list(self) -> list[m.Agent]:
        """Every agent, by name."""
        query = select(t.AgentRow).where(t.AgentRow.tenant_id == self.tenant_id)
        async with self.db.session() as session:
            rows = (await session.execute(query.order_by(t.AgentRow.name))).scalars().all()
        return [convert.agent(r) for r in rows]

    async def add(self, name: str, email: str | None = None) -> m.Agent:
        """Create an agent."""
        clean = " ".join((name or "").split())
        if not 1 <= len(clean) <= 200:
            raise InvalidInput("agent name", name, "1 to 200 characters")
        async with self.db.session() as session:
            row = t.AgentRow(tenant_id=self.tenant_id, name=clean, email=email, active=True)
            session.add(row)
            await session.flush()
            return convert.agent(row)

    async def by_name(self, name: str) -> m.Agent | None:
        """The agent called ``name`` (case-insensitive), if any."""
        async with self.db.session() as session:
            rows = (
                (
                    await session.execute(
                        select(t.AgentRow).where(t.AgentRow.tenant_id == self.tenant_id)
                    )
                )
                .scalars()
                .all()
            )
        found = [r for r in rows if r.name.casefold() == name.casefold()]
        return convert.agent(found[0]) if found else None

    async def set_password_hash(self, agent_id: int, password_hash: str | None) -> None:
        """Store an agent's password hash (None: the agent cannot sign in to ``serve``)."""
        async with self.db.session() as session:
            row = await session.get(t.AgentRow, agent_id)
            if row is None or row.tenant_id != self.tenant_id:
                raise InvalidInput("agent", str(agent_id), "an agent of this company")
            row.password_hash = password_hash

    async def password_hash(self, agent_id: int) -> str | None:
        """The stored hash of an agent's password, if one was set."""
        async with self.db.session() as session:
            row = await session.get(t.AgentRow, agent_id)
        if row is None or row.tenant_id != self.tenant_id:
            return None
        return row.password_hash
