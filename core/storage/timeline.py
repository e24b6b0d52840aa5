"""The write path of threads, shared by the facade, ingest, the outbox and the demo seeder.

Every message goes in through ``append_message``, which keeps the conversation row's
denormalised columns (last message, unread count, waiting-since, counts) in step in the same
transaction. Statuses move through ``apply_status``, which only lets them move forward.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.enums import (
    STATUS_RANK,
    Channel,
    ConversationStatus,
    Direction,
    MessageKind,
    MessageStatus,
    SenderType,
)
from core.storage import tables as t
from core.storage.convert import to_micros
from core.storage.types import utcnow

PREVIEW_LENGTH = 120


class ProspectFields(Protocol):
    """What a new conversation takes from its prospect (an ORM row or a loaded one)."""

    @property
    def id(self) -> int: ...
    @property
    def tenant_id(self) -> int: ...
    @property
    def display_name(self) -> str: ...


class ThreadState(Protocol):
    """The conversation's denormalised columns a new thread item changes."""

    message_count: int
    last_message_at: datetime | None
    last_message_preview: str
    last_message_direction: str | None
    unread_count: int
    waiting_since: datetime | None
    status: str
    closed_at: datetime | None
    snoozed_until: datetime | None


class ConversationFields(Protocol):
    """What a message takes from its conversation (an ORM row, or a batch's plain one)."""

    @property
    def id(self) -> int | None: ...
    @property
    def tenant_id(self) -> int: ...
    @property
    def prospect_id(self) -> int: ...
    @property
    def channel_type(self) -> str: ...


def preview_of(text: str) -> str:
    """The first line of ``text``, white space collapsed, cut to fit a list row."""
    line = " ".join((text or "").split())
    return line if len(line) <= PREVIEW_LENGTH else line[: PREVIEW_LENGTH - 1] + "…"


async def find_conversation(
    session: AsyncSession, prospect_id: int, channel: Channel
) -> t.ConversationRow | None:
    """The prospect's most recent conversation on ``channel``, if any."""
    query = (
        select(t.ConversationRow)
        .where(t.ConversationRow.prospect_id == prospect_id)
        .where(t.ConversationRow.channel_type == channel)
        .order_by(t.ConversationRow.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def open_conversation(
    session: AsyncSession,
    prospect: t.ProspectRow,
    channel: Channel,
    *,
    identifier: str | None = None,
    subject: str | None = None,
    switched_from_id: int | None = None,
    context: dict[str, Any] | None = None,
    created_at: datetime | None = None,
    flush: bool = True,
) -> t.ConversationRow:
    """Create a conversation for ``prospect`` on ``channel``.

    ``flush=False`` leaves it pending (no id yet): a batch's messages refer to it through
    ``MessageRow.conversation`` and everything is inserted in one flush.
    """
    row = t.ConversationRow(
        **conversation_values(
            prospect,
            channel,
            identifier=identifier,
            subject=subject,
            switched_from_id=switched_from_id,
            context=context,
            created_at=created_at,
        )
    )
    session.add(row)
    if flush:
        await session.flush()
    return row


def conversation_values(
    prospect: ProspectFields,
    channel: Channel,
    *,
    identifier: str | None = None,
    subject: str | None = None,
    switched_from_id: int | None = None,
    context: dict[str, Any] | None = None,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    """The values of a new conversation row (by attribute name), as ``open_conversation``
    writes it: also what a batch inserts without ORM objects."""
    return {
        "tenant_id": prospect.tenant_id,
        "prospect_id": prospect.id,
        "channel_type": channel,
        "channel_identifier": identifier,
        "subject": subject,
        "switched_from_id": switched_from_id,
        "context": context or {},
        "prospect_name": prospect.display_name,
        "status": ConversationStatus.OPEN,
        "priority": 2,
        "unread_count": 0,
        "message_count": 0,
        "created_at": created_at or utcnow(),
    }


async def conversation_for(
    session: AsyncSession, prospect: t.ProspectRow, channel: Channel, identifier: str | None
) -> t.ConversationRow:
    """The prospect's current conversation on ``channel``, created if there is none."""
    existing = await find_conversation(session, prospect.id, channel)
    if existing is not None:
        return existing
    return await open_conversation(session, prospect, channel, identifier=identifier)


async def latest_conversations(
    session: AsyncSession, prospect_ids: Iterable[int]
) -> dict[tuple[int, Channel], t.ConversationRow]:
    """Each prospect's most recent conversation per channel, by (prospect id, channel), in one
    query (a batch's ``find_conversation``)."""
    ids = sorted(set(prospect_ids))
    if not ids:
        return {}
    query = (
        select(t.ConversationRow)
        .where(t.ConversationRow.prospect_id.in_(ids))
        .order_by(t.ConversationRow.id)
    )
    rows = (await session.execute(query)).scalars()
    return {(row.prospect_id, Channel(row.channel_type)): row for row in rows}


async def append_message(
    session: AsyncSession,
    conversation: t.ConversationRow,
    *,
    flush: bool = True,
    **fields: Any,
) -> t.MessageRow:
    """Add a thread item to ``conversation`` and update the conversation row with it.

    ``fields`` are ``message_values``' keywords (direction, sender type, content, status…).
    ``flush=False`` leaves the message pending (no id yet), to be inserted with the rest of a
    batch in one flush; ``conversation`` may then be pending too.
    """
    row = t.MessageRow(**message_values(conversation, **fields))
    return await _add_item(session, conversation, row, flush)


async def attach_message(
    session: AsyncSession, conversation: t.ConversationRow, row: t.MessageRow, *, flush: bool
) -> t.MessageRow:
    """Add ``row``, a message built before its conversation was known (by ingest, before it
    takes the write lock), to ``conversation``'s thread as ``append_message`` does."""
    row.tenant_id = conversation.tenant_id
    row.prospect_id = conversation.prospect_id
    row.channel_type = conversation.channel_type
    row.conversation_id = conversation.id
    return await _add_item(session, conversation, row, flush)


async def _add_item(
    session: AsyncSession, conversation: t.ConversationRow, row: t.MessageRow, flush: bool
) -> t.MessageRow:
    if conversation.id is None:
        row.conversation = conversation
    session.add(row)
    if flush:
        await session.flush()
    touch_conversation(conversation, row)
    return row


#: In a message's meta: scheduled for later, not yet shown as its conversation's latest activity
#: (the outbox surfaces it when it goes out, whatever state quiet hours or pauses put it in).
UNSURFACED = "unsurfaced"


def message_values(
    conversation: ConversationFields,
    *,
    direction: Direction,
    sender_type: SenderType,
    content: str,
    status: MessageStatus,
    kind: MessageKind = MessageKind.MESSAGE,
    channel: Channel | None = None,
    subject: str | None = None,
    meta: dict[str, Any] | None = None,
    provider: str | None = None,
    provider_message_id: str | None = None,
    sender_id: int | None = None,
    segments: int | None = None,
    cost: Decimal | None = None,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    """The values of a message row of ``conversation`` (by attribute name), as
    ``append_message`` writes it: also what a batch inserts without ORM objects."""
    return {
        "tenant_id": conversation.tenant_id,
        "conversation_id": conversation.id,
        "prospect_id": conversation.prospect_id,
        "direction": direction,
        "channel_type": channel or conversation.channel_type,
        "kind": kind,
        "sender_type": sender_type,
        "sender_id": sender_id,
        "content": content,
        "subject": subject,
        "meta": {**(meta or {}), UNSURFACED: True}
        if status == MessageStatus.SCHEDULED
        else meta or {},
        "status": status,
        "provider": provider,
        "provider_message_id": provider_message_id,
        "segments": segments,
        "cost_micros": to_micros(cost),
        "currency": "EUR" if cost is not None else None,
        "created_at": created_at or utcnow(),
    }


async def record_event(
    session: AsyncSession,
    conversation: t.ConversationRow,
    stored_line: dict[str, Any],
    *,
    sender_type: SenderType = SenderType.AGENT,
    sender_id: int | None = None,
    meta: dict[str, Any] | None = None,
    created_at: datetime | None = None,
) -> t.MessageRow:
    """Add an internal event to ``conversation``'s thread (``core.i18n.deferred.line``).

    An event is a thread item of kind EVENT: never sent, never counted as a message, drawn
    apart from messages, and stored untranslated (``meta["line"]``: a catalog key and its
    parameters) so each agent reads it in their own language. ``content`` stays empty.
    """
    return await append_message(
        session,
        conversation,
        direction=Direction.OUTBOUND,
        sender_type=sender_type,
        sender_id=sender_id,
        kind=MessageKind.EVENT,
        content="",
        status=MessageStatus.SENT,
        meta={**(meta or {}), "line": stored_line},
        created_at=created_at,
    )


def touch_conversation(conversation: ThreadState, message: t.MessageRow) -> None:
    """Fold a new thread item into the conversation's denormalised columns.

    Private notes and events do not count as activity the prospect sees: they neither change
    the preview nor the waiting time. A message scheduled for later (a reminder, a survey) counts
    but shows in the inbox only when it goes out (``surface_item``, called by the outbox).
    """
    fold_item(
        conversation,
        kind=message.kind,
        at=message.created_at,
        text=message.subject or message.content,
        direction=message.direction,
        sender_type=message.sender_type,
        status=message.status,
    )


def fold_item(
    conversation: ThreadState,
    *,
    kind: str,
    at: datetime,
    text: str,
    direction: str,
    sender_type: str,
    status: str | None = None,
) -> None:
    """``touch_conversation`` from the item's values (a batch's message has no ORM row)."""
    if kind in (MessageKind.NOTE, MessageKind.EVENT):
        return
    conversation.message_count = (conversation.message_count or 0) + 1
    if status != MessageStatus.SCHEDULED:
        surface_item(conversation, at=at, text=text, direction=direction, sender_type=sender_type)


def surface_item(
    conversation: ThreadState, *, at: datetime, text: str, direction: str, sender_type: str
) -> None:
    """Make a message the conversation's latest activity (preview, order, waiting, unread)."""
    if conversation.last_message_at is None or at >= conversation.last_message_at:
        conversation.last_message_at = at
        conversation.last_message_preview = preview_of(text)
        conversation.last_message_direction = direction
    if direction == Direction.INBOUND:
        conversation.unread_count = (conversation.unread_count or 0) + 1
        if conversation.waiting_since is None:
            conversation.waiting_since = at
        if conversation.status in (ConversationStatus.CLOSED, ConversationStatus.SNOOZED):
            conversation.status = ConversationStatus.OPEN
            conversation.closed_at = None
            conversation.snoozed_until = None
    elif sender_type in (SenderType.AGENT, SenderType.SARA):
        conversation.waiting_since = None


_STATUS_TIME_COLUMN = {
    MessageStatus.SENT: "sent_at",
    MessageStatus.DELIVERED: "delivered_at",
    MessageStatus.READ: "read_at",
    MessageStatus.FAILED: "failed_at",
    MessageStatus.UNDELIVERED: "failed_at",
}


def apply_status(
    message: t.MessageRow,
    status: MessageStatus,
    *,
    at: datetime | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
) -> bool:
    """Move ``message`` to ``status`` unless that would move it backwards.

    Timestamps and error details are recorded even for an update that does not change the
    current status (a "delivered" arriving after "read" still tells when it was delivered).
    Returns whether anything changed.
    """
    moment = at or utcnow()
    changed = False
    column = _STATUS_TIME_COLUMN.get(status)
    if column and getattr(message, column) is None:
        setattr(message, column, moment)
        changed = True
    if error_code and message.error_code != error_code:
        message.error_code, message.error_message = error_code, error_message
        changed = True
    current = MessageStatus(message.status)
    if STATUS_RANK[status] > STATUS_RANK[current] or (
        STATUS_RANK[status] == STATUS_RANK[current] and status != current and _may_replace(current)
    ):
        message.status = status
        changed = True
    return changed


def _may_replace(current: MessageStatus) -> bool:
    # Between equals, only a non-final state gives way (held ↔ scheduled).
    return current in (MessageStatus.HELD, MessageStatus.SCHEDULED)
