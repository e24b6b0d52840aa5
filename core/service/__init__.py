"""The service facade the TUI and the CLI call: pydantic models in and out, never ORM rows.

service = await open_service(settings)   # core.engine: the app's way in (seeds the demo)
page = await service.conversations.page(InboxFilter(channel=Channel.SMS))
thread = await service.conversations.thread(page.items[0].id)
async with service.bus.subscribe() as events: ...
await service.close()
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from core.config.settings import OrchestratorSettings, Settings
from core.domain.models import Agent
from core.events import EventBus
from core.service.bulk import Bulk
from core.service.conversations import Conversations, InboxFilter, Sort, View
from core.service.drafts import Drafts
from core.service.inbound_events import InboundEvents
from core.service.messages import Messages
from core.service.prospects import Prospects
from core.service.tenant_settings import TenantSettingsStore
from core.storage.database import Database
from core.storage.service_context import ServiceContext
from core.storage.tenants import Agents, ensure_tenant
from core.storage.types import utcnow
from core.team.audit import AuditTrail
from core.team.live import Team, check_team_settings, unknown_agent

if TYPE_CHECKING:
    from core.booking.agenda import Agenda
    from core.booking.appointments import Appointments
    from core.booking.notices import AppointmentNotices
    from core.booking.service import Booking
    from core.service.abtests import ABTests
    from core.service.analytics import Analytics
    from core.service.attachments import Attachments
    from core.service.automation import Automation
    from core.service.campaigns import Campaigns
    from core.service.channel_checks import ChannelChecks
    from core.service.outbound import Outbound
    from core.service.templates import Templates


class InboxService:
    """Everything an agent's app does with the core, in parts named for what they hold.

    The parts the inbox's first screen needs are built with the service; the others (A/B tests,
    campaigns, analytics, templates, appointments and booking, outbound, agenda) are imported
    and built when first used, so that opening the inbox does not wait for them.
    """

    def __init__(self, ctx: ServiceContext, settings: Settings | None = None) -> None:
        self.ctx = ctx
        self.settings = settings
        self.conversations = Conversations(ctx)
        self.bulk = Bulk(ctx)
        self.prospects = Prospects(ctx)
        self.messages = Messages(ctx)
        self.drafts = Drafts(ctx)
        self.tenant_settings = TenantSettingsStore(ctx)
        self.agents = Agents(ctx.db, ctx.tenant_id)
        self.audit = AuditTrail(ctx)
        self.team = Team(ctx)
        self.inbound_events = InboundEvents(ctx)

    @property
    def _orchestrator(self) -> OrchestratorSettings | None:
        return self.settings.orchestrator if self.settings else None

    @cached_property
    def appointments(self) -> Appointments:
        """Appointments of a prospect, and their reminders."""
        from core.booking.appointments import Appointments

        return Appointments(self.ctx)

    @cached_property
    def booking(self) -> Booking:
        """Slots and bookings; the prospect's notices are attached when it is built."""
        from core.booking.notices import booking_hooks
        from core.booking.service import Booking

        booking = Booking(self.ctx)
        booking_hooks(self.ctx, booking, self.outbound.reminders)
        return booking

    @property
    def booking_notices(self) -> AppointmentNotices:
        """The prospect's confirmations and notices, and the re-booking offer after a no-show."""
        from core.booking.notices import booking_hooks

        return booking_hooks(self.ctx, self.booking, self.outbound.reminders)

    @cached_property
    def attachments(self) -> Attachments:
        """The files prospects send: fetched through the adapters, cached, saved."""
        from core.service.attachments import Attachments

        settings = self.settings or Settings()
        return Attachments(self.ctx, settings.data_dir / "attachments")

    @cached_property
    def channel_checks(self) -> ChannelChecks:
        """Which secrets a provider takes, and whether it answers with them."""
        from core.service.channel_checks import ChannelChecks

        return ChannelChecks(self.settings)

    @cached_property
    def templates(self) -> Templates:
        """Message templates."""
        from core.service.templates import Templates

        return Templates(self.ctx)

    @cached_property
    def campaigns(self) -> Campaigns:
        """Campaigns (broadcasts)."""
        from core.service.campaigns import Campaigns

        return Campaigns(self.ctx, self._orchestrator)

    @cached_property
    def automation(self) -> Automation:
        """Automation paused or not per conversation; resume it, release what it held."""
        from core.service.automation import Automation

        return Automation(self.ctx)

    @cached_property
    def abtests(self) -> ABTests:
        """A/B tests of templates."""
        from core.service.abtests import ABTests

        return ABTests(self.ctx, self._orchestrator)

    @cached_property
    def analytics(self) -> Analytics:
        """Figures per channel and period."""
        from core.service.analytics import Analytics

        return Analytics(self.ctx)

    @cached_property
    def outbound(self) -> Outbound:
        """Everything sent to prospects (replies, resends, calls)."""
        from core.service.outbound import Outbound

        return Outbound(self.ctx, self._orchestrator)

    @cached_property
    def agenda(self) -> Agenda:
        """The calendar of appointments."""
        from core.booking.agenda import Agenda

        return Agenda(self.ctx)

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
            if agent is None:
                raise await unknown_agent(service.agents, settings.agent)
            ctx.agent_id = agent.id
        return service

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        role: str = "app",
        prepare: Callable[[Database], Awaitable[object]] | None = None,
        mapped: bool = False,
    ) -> InboxService:
        """Open the configured database (migrating it), start the live link, return the service.

        ``role`` (``app``, ``worker``, ``relay``) sizes the PostgreSQL connection pool (see
        ``DatabaseSettings``). ``prepare`` runs on the open database first
        (``core.engine.open_service`` fills an empty demo database with the demo agency that way:
        the facade does not know the demo). ``mapped``: an SQLite file is read through a memory
        map (the interactive app: ``Database.open``).
        """
        check_team_settings(settings)
        options: dict[str, Any] = {}
        if settings.effective_database_url.startswith("postgresql"):
            options = settings.database.engine_options(role)
            options["idle_seconds"] = settings.database.idle_for(role)
            options["name"] = f"coccinelle {role}"
        elif mapped:
            options["mapped"] = True
        db = await Database.open(settings.effective_database_url, **options)
        db.listen_url = settings.database.listen_url
        try:
            if prepare is not None:
                await prepare(db)
            service = await cls.connect(db, settings.tenant, settings=settings)
            await service.team.start()
        except BaseException:
            await db.close()
            raise
        return service

    def act_as(self, agent: Agent) -> None:
        """Be ``agent`` from now on (the app asked who you are): replies, assignments and the
        audit trail carry their id, and other agents see their name in presence."""
        self.ctx.agent_id = agent.id
        self.team.presence.agent_name = agent.name

    async def close(self) -> None:
        """Stop the live link and close the database."""
        await self.team.close()
        await self.ctx.db.close()


__all__ = ["InboxFilter", "InboxService", "Sort", "View"]
