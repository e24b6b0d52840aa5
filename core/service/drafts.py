"""Drafts: the reply an agent is writing in a conversation, kept across screens and restarts."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import models as m
from core.events import ConversationChanged
from core.storage import tables as t
from core.storage.email_thread import email_thread
from core.storage.rows_changed import rows_changed
from core.storage.service_context import ServiceContext


class Drafts:
    """Keep, read and discard the draft of a conversation (one per conversation)."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def get(self, conversation_id: int) -> m.Draft | None:
        """The conversation's draft, or None."""
        async with self.ctx.db.session() as session:
            row = await session.get(t.DraftRow, conversation_id)
            if row is None or row.tenant_id != self.ctx.tenant_id:
                return None
            return m.Draft(
                conversation_id=row.conversation_id,
                text=row.text,
                subject=row.subject,
                updated_at=row.updated_at,
            )

    async def keep(self, conversation_id: int, text: str, subject: str | None = None) -> bool:
        """Store the draft (an empty one is discarded instead); True when a draft is kept."""
        subject = (subject or "").strip()[:500] or None
        if not text.strip() and subject is None:
            await self.discard(conversation_id)
            return False
        async with self.ctx.write() as (session, events):
            row = await session.get(t.DraftRow, conversation_id)
            if row is None:
                session.add(
                    t.DraftRow(
                        conversation_id=conversation_id,
                        tenant_id=self.ctx.tenant_id,
                        text=text,
                        subject=subject,
                        updated_at=self.ctx.now(),
                    )
                )
            elif row.tenant_id == self.ctx.tenant_id:
                row.text, row.subject, row.updated_at = text, subject, self.ctx.now()
            events.append(ConversationChanged(conversation_id))
        return True

    async def reply_subject(self, prospect_id: int) -> str | None:
        """The subject an e-mail answer to the prospect carries when the agent writes none
        ("Re: <their thread's subject>"); None when there is no e-mail thread (the text's first
        line becomes the subject)."""
        async with self.ctx.db.session() as session:
            thread = await email_thread(session, prospect_id)
        return thread.reply_subject() if thread else None

    async def discard(self, conversation_id: int) -> None:
        """Forget the conversation's draft (nothing happens if there is none)."""
        async with self.ctx.write() as (session, events):
            result = await session.execute(
                delete(t.DraftRow).where(
                    t.DraftRow.conversation_id == conversation_id,
                    t.DraftRow.tenant_id == self.ctx.tenant_id,
                )
            )
            if rows_changed(result):
                events.append(ConversationChanged(conversation_id))


async def drafted_ids(session: AsyncSession, ids: list[int]) -> set[int]:
    """Which of the conversations ``ids`` have a draft."""
    if not ids:
        return set()
    query = select(t.DraftRow.conversation_id).where(t.DraftRow.conversation_id.in_(ids))
    return set((await session.execute(query)).scalars())
