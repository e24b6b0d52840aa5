"""The facade's team part: this process's live link and presence."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import ConfigurationError
from core.i18n import t as tr
from core.storage import tables as t
from core.team.lease import JobLease
from core.team.pg_listen import NotifyBridge, StateCallback
from core.team.presence import Presence

if TYPE_CHECKING:
    from core.config.settings import Settings
    from core.storage.service_context import ServiceContext
    from core.storage.tenants import Agents


class Team:
    """The live link and presence of this process; both do nothing on SQLite.

    ``start`` is called by ``InboxService.open``. A process that builds its service with
    ``InboxService.connect`` or its own ``ServiceContext`` (a relay, a worker) starts it itself,
    so that what it commits reaches every open app::

        team = Team(ctx)          # or service.team
        await team.start()
        ...
        await team.close()
    """

    def __init__(self, ctx: ServiceContext, *, on_state: StateCallback | None = None) -> None:
        self.ctx = ctx
        self.bridge = NotifyBridge(ctx.db, ctx.bus, ctx.tenant_id, on_state=on_state)
        self.presence = Presence(self.bridge, ctx.bus, agent_name="?")
        self.lease = JobLease(self.bridge)

    @property
    def online(self) -> bool | None:
        """Whether the live link is up (None on SQLite or before ``start``)."""
        return self.bridge.online

    async def start(self) -> None:
        """Connect the live link and announce this agent's presence."""
        if not self.bridge.enabled:
            return
        self.presence.agent_name = await self._agent_name()
        await self.bridge.start()
        await self.presence.start()

    async def close(self) -> None:
        """Say goodbye, send what is queued, disconnect."""
        await self.presence.close()
        await self.bridge.close()

    async def _agent_name(self) -> str:
        if self.ctx.agent_id is None:
            return tr("team.presence_someone")
        async with self.ctx.db.session() as session:
            agent = await session.get(t.AgentRow, self.ctx.agent_id)
        return agent.name if agent else tr("team.presence_someone")


async def unknown_agent(agents: Agents, name: str) -> ConfigurationError:
    """The error for ``--agent NAME`` naming nobody: who exists, and how to add someone."""
    known = ", ".join(agent.name for agent in await agents.list()) or tr("team.no_agents")
    return ConfigurationError(tr("team.unknown_agent", name=name, known=known))


def check_team_settings(settings: Settings) -> None:
    """Refuse team mode on anything but PostgreSQL (SQLite cannot be shared between machines).

    Raises:
        ConfigurationError: names the setting and what to give.
    """
    url = settings.effective_database_url
    if settings.mode == "team" and not url.startswith("postgresql"):
        raise ConfigurationError(tr("team.needs_postgres"))
