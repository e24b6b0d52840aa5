"""Small builders of realistic rows for tests, through the same write path as the product."""

from __future__ import annotations

from datetime import datetime

from core.domain.enums import Channel, Direction, MessageStatus, Provider, SenderType
from core.domain.models import ProspectDraft
from core.service import InboxService
from core.storage import tables as t
from core.storage.timeline import append_message, conversation_for


async def add_prospect(service: InboxService, name: str = "Marie Dupont", **fields: object) -> int:
    """Create a prospect and return its id."""
    prospect = await service.prospects.create(ProspectDraft(display_name=name, **fields))
    return prospect.id


async def add_message(
    service: InboxService,
    prospect_id: int,
    text: str,
    *,
    channel: Channel = Channel.SMS,
    direction: Direction = Direction.INBOUND,
    at: datetime | None = None,
    provider_message_id: str | None = None,
    subject: str | None = None,
) -> tuple[int, int]:
    """Add a message to the prospect's conversation; returns (conversation id, message id)."""
    async with service.db.session() as session:
        prospect = await session.get(t.ProspectRow, prospect_id)
        assert prospect is not None
        conversation = await conversation_for(session, prospect, channel, None)
        inbound = direction == Direction.INBOUND
        row = await append_message(
            session,
            conversation,
            direction=direction,
            sender_type=SenderType.PROSPECT if inbound else SenderType.AGENT,
            content=text,
            subject=subject,
            status=MessageStatus.RECEIVED if inbound else MessageStatus.SENT,
            provider=Provider.TWILIO if provider_message_id else None,
            provider_message_id=provider_message_id,
            created_at=at or service.ctx.now(),
        )
        return conversation.id, row.id
