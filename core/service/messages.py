"""Thread items written by agents that do not go through a provider: private notes."""

from __future__ import annotations

from core.domain import models as m
from core.domain.enums import Direction, MessageKind, MessageStatus, SenderType
from core.errors import InvalidInput, NotFound
from core.events import ConversationChanged, MessageChanged
from core.storage import convert
from core.storage import tables as t
from core.storage.service_context import ServiceContext
from core.storage.timeline import append_message

MAX_NOTE = 10_000


class Messages:
    """Reading single messages and writing private notes."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def get(self, message_id: int) -> m.Message:
        """One message."""
        async with self.ctx.db.session() as session:
            row = await session.get(t.MessageRow, message_id)
            if row is None or row.tenant_id != self.ctx.tenant_id:
                raise NotFound("message", message_id)
            return convert.message(row)

    async def add_note(self, conversation_id: int, text: str) -> m.Message:
        """A private note between agents: shown in the thread, never sent."""
        body = (text or "").strip()
        if not body or len(body) > MAX_NOTE:
            raise InvalidInput("note", text, f"1 to {MAX_NOTE} characters")
        async with self.ctx.write() as (session, events):
            conversation = await session.get(t.ConversationRow, conversation_id)
            if conversation is None or conversation.tenant_id != self.ctx.tenant_id:
                raise NotFound("conversation", conversation_id)
            row = await append_message(
                session,
                conversation,
                direction=Direction.OUTBOUND,
                sender_type=SenderType.AGENT,
                sender_id=self.ctx.agent_id,
                kind=MessageKind.NOTE,
                content=body,
                status=MessageStatus.SENT,
                created_at=self.ctx.now(),
            )
            events += [
                MessageChanged(row.id, conversation_id),
                ConversationChanged(conversation_id),
            ]
            return convert.message(row)
