"""The service facade the TUI and the CLI call: pydantic models in and out, never ORM rows.

service = await InboxService.open(settings)
page = await service.conversations.page(InboxFilter(channel=Channel.SMS))
thread = await service.conversations.thread(page.items[0].id)
async with service.bus.subscribe() as events: ...
await service.close()
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from core.config.settings import Settings
from core.events import EventBus
from core.service.appointments import Appointments
from core.service.context import ServiceContext
from core.service.conversations import Conversations, InboxFilter, Sort, View
from core.service.messages import Messages
from core.service.outbound import Outbound
from core.service.prospects import Prospects
from core.service.settings import TenantSettingsStore
from core.service.templates import Templates
from core.service.tenants import Agents, ensure_tenant
from core.storage.database import Database
from core.storage.types import utcnow


class InboxService:
    """Everything an agent's app does with the core, in parts named for what they hold."""

    def __init__(self, ctx: ServiceContext, settings: Settings | None = None) -> None:
        self.ctx = ctx
        self.settings = settings
        self.conversations = Conversations(ctx)
        self.prospects = Prospects(ctx)
        self.messages = Messages(ctx)
        self.appointments = Appointments(ctx)
        self.templates = Templates(ctx)
        self.tenant_settings = TenantSettingsStore(ctx)
        self.agents = Agents(ctx.db, ctx.tenant_id)
        self.outbound = Outbound(ctx, settings.orchestrator if settings else None)

    @property
    def db(self) -> Database:
        """The open database."""
        return self.ctx.db

    @property
    def bus(self) -> EventBus:
        """Where the core publishes what changed."""
        return self.ctx.bus

    @classmethod
    async def connect(
        cls,
        db: Database,
        tenant: str = "demo",
        *,
        settings: Settings | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> InboxService:
        """A service on an already open database, for ``tenant`` (created if missing)."""
        tenant_id = await ensure_tenant(db, tenant)
        ctx = ServiceContext(db=db, bus=EventBus(), tenant_id=tenant_id, clock=clock)
        service = cls(ctx, settings)
        if settings is not None and settings.agent:
            agent = await service.agents.by_name(settings.agent)
            ctx.agent_id = agent.id if agent else None
        return service

    @classmethod
    async def open(cls, settings: Settings) -> InboxService:
        """Open the configured database (migrating it) and return the service."""
        db = await Database.open(settings.effective_database_url)
        return await cls.connect(db, settings.tenant, settings=settings)

    async def close(self) -> None:
        """Close the database."""
        await self.ctx.db.close()


__all__ = ["InboxFilter", "InboxService", "Sort", "View"]
