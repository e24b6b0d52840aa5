"""The e-mail thread a prospect and the agency already have: what a reply without a subject of
its own answers ("Re: <subject>", and the headers that keep it in the prospect's thread)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.enums import Channel, Direction, MessageKind
from core.storage import tables as t

M = t.MessageRow
#: How a reply's subject begins, in any case ("RE:", "Re :"), so it is not added twice.
_REPLY_PREFIXES = ("re:", "re :", "réf:", "aw:", "sv:")


@dataclass(frozen=True, slots=True)
class EmailThread:
    """The latest subject between the agency and the prospect, and the ``Message-ID`` of the
    prospect's latest e-mail (None when they never wrote one)."""

    subject: str
    message_id: str | None

    def reply_subject(self) -> str:
        """``Re: <subject>``, once."""
        if self.subject.lower().startswith(_REPLY_PREFIXES):
            return self.subject
        return f"Re: {self.subject}"


async def email_thread(session: AsyncSession, prospect_id: int) -> EmailThread | None:
    """The prospect's e-mail thread, None when no e-mail with a subject was exchanged."""
    mail = (
        M.prospect_id == prospect_id,
        M.channel_type == Channel.EMAIL,
        M.kind == MessageKind.MESSAGE,
    )
    latest = M.created_at.desc(), M.id.desc()
    subject = await session.scalar(
        select(M.subject)
        .where(*mail, M.subject.is_not(None), M.subject != "")
        .order_by(*latest)
        .limit(1)
    )
    if not subject:
        return None
    message_id = await session.scalar(
        select(M.provider_message_id)
        .where(*mail, M.direction == Direction.INBOUND, M.provider_message_id.is_not(None))
        .order_by(*latest)
        .limit(1)
    )
    return EmailThread(subject=" ".join(subject.split()), message_id=message_id)
