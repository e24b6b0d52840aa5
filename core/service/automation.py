"""The agent's side of the automation policy: is it paused here, resume it, release what it held.

``InboxService.automation`` (``core.automation`` decides; this is what the TUI and CLI call).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.automation import pauses
from core.errors import NotFound
from core.events import ConversationChanged, MessageChanged
from core.storage import tables as t
from core.storage.service_context import ServiceContext
from core.team import audit


@dataclass(frozen=True)
class AutomationState:
    """Whether automation is paused in a conversation, why, and how many messages it holds."""

    conversation_id: int
    paused: bool
    reason: str | None = None
    paused_at: datetime | None = None
    details: dict | None = None
    held: int = 0


class Automation:
    """Pause state, resume and held messages of a conversation's automation."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def state(self, conversation_id: int) -> AutomationState:
        """The conversation's automation state.

        Raises:
            NotFound: no such conversation in this tenant.
        """
        async with self.ctx.db.session() as session:
            await self._conversation(session, conversation_id)
            pause = await pauses.active_pause(session, conversation_id)
            held = len(await pauses.held_rows(session, conversation_id))
        if pause is None:
            return AutomationState(conversation_id, False, held=held)
        return AutomationState(
            conversation_id, True, pause.reason, pause.paused_at, dict(pause.details), held
        )

    async def resume_automation(self, conversation_id: int, *, release: bool = False) -> int:
        """Resume automation in the conversation (its hourly count starts afresh); with
        ``release``, also send what it held. Returns how many held messages were released;
        says so in the thread and the audit trail.

        Raises:
            NotFound: no such conversation in this tenant.
        """
        async with self.ctx.write() as (session, events):
            await self._conversation(session, conversation_id)
            resumed = await pauses.resume(
                session,
                conversation_id,
                self.ctx.now(),
                agent_id=self.ctx.agent_id,
                release=release,
            )
            events.extend(resumed.events)
            if resumed.was_paused:
                await audit.record(
                    session,
                    self.ctx,
                    "automation_resume",
                    "conversation",
                    conversation_id,
                    released=resumed.released,
                )
            return resumed.released

    async def release_held(self, conversation_id: int) -> int:
        """Send the automated messages held in the conversation now; how many.

        Raises:
            NotFound: no such conversation in this tenant.
        """
        return await self._settle(conversation_id, release=True)

    async def discard_held(self, conversation_id: int) -> int:
        """Cancel the automated messages held in the conversation (kept, shown cancelled).

        Raises:
            NotFound: no such conversation in this tenant.
        """
        return await self._settle(conversation_id, release=False)

    async def _settle(self, conversation_id: int, *, release: bool) -> int:
        async with self.ctx.write() as (session, events):
            await self._conversation(session, conversation_id)
            rows = await pauses.held_rows(session, conversation_id)
            settle = pauses.release_held if release else pauses.discard_held
            count = await settle(session, conversation_id, self.ctx.now())
            if count:
                action = "automation_release" if release else "automation_discard"
                await audit.record(
                    session, self.ctx, action, "conversation", conversation_id, count=count
                )
            events.extend(
                MessageChanged(r.message_id, conversation_id) for r in rows if r.message_id
            )
            events.append(ConversationChanged(conversation_id))
            return count

    async def _conversation(self, session, conversation_id: int) -> t.ConversationRow:
        row = await session.get(t.ConversationRow, conversation_id)
        if row is None or row.tenant_id != self.ctx.tenant_id:
            raise NotFound("conversation", conversation_id)
        return row
