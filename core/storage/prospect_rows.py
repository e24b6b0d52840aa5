"""Finding a prospect's row by how they reach us (a phone number, an address, a chat id)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.contact import normalize_email, normalize_phone
from core.domain.enums import Channel
from core.storage import tables as t

P = t.ProspectRow


async def find_row(
    session: AsyncSession, tenant_id: int, channel: Channel, identifier: str
) -> P | None:
    """The (unmerged) prospect row reachable at ``identifier`` on ``channel``.

    SMS, WhatsApp and voice share the phone number: the same E.164 number is one prospect.
    """
    query = select(P).where(P.tenant_id == tenant_id, P.merged_into_id.is_(None))
    match Channel(channel):
        case Channel.SMS | Channel.VOICE | Channel.WHATSAPP:
            phone = normalize_phone(identifier)
            query = query.where((P.phone == phone) | (P.whatsapp == phone))
        case Channel.EMAIL:
            query = query.where(P.email == normalize_email(identifier))
        case Channel.TELEGRAM:
            query = query.where(P.telegram_chat_id == int(identifier))
    return (await session.execute(query.order_by(P.id).limit(1))).scalar_one_or_none()
