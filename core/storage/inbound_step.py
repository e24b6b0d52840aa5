"""What every step of ingesting one stored event shares: its transaction and its facts, and the
thread items Sara writes in it (events, the last message the prospect got)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.appointment_changes import AppointmentChange
from core.domain.enums import (
    DEFAULT_PROVIDER,
    Channel,
    Direction,
    MessageKind,
    MessageStatus,
    Provider,
    SenderType,
)
from core.domain.tenant_settings import TenantSettings
from core.events import ConversationChanged, Event, MessageChanged
from core.i18n.deferred import Line
from core.storage import tables as t
from core.storage.database import announce_with_commit
from core.storage.timeline import record_event as add_event


@dataclass(frozen=True, slots=True)
class AppointmentNotice:
    """Sara changed an appointment (told to hooks after the commit, e.g. to drop reminders)."""

    appointment_id: int
    status: str
    previous: str
    reason: str | None
    conversation_id: int


@dataclass
class BatchLookups:
    """Rows one ingest transaction read for all its events at once, by key; a key that is
    present maps to the row or to None (known absent). Rows the batch creates are added; after
    an event is rolled back to its savepoint everything is forgotten (``clear``)."""

    #: (provider, provider message id) -> message.
    messages: dict[tuple[str, str], t.MessageRow | None] = field(default_factory=dict)
    #: (identifier kind, canonical identifier) -> unmerged prospect (kind: phone, email, telegram).
    prospects: dict[tuple[str, str], t.ProspectRow | None] = field(default_factory=dict)
    #: (prospect id, channel) -> the prospect's latest conversation on it.
    conversations: dict[tuple[int, str], t.ConversationRow | None] = field(default_factory=dict)

    def clear(self) -> None:
        self.messages.clear()
        self.prospects.clear()
        self.conversations.clear()


@dataclass
class IngestStep:
    """One stored event being turned into domain changes, inside one transaction.

    ``events`` are published on the bus once the transaction has committed. ``booking`` books
    and changes appointments inside the transaction (``book_in``/``change_in``); the changes
    noted in ``booking_changes`` go to its hooks after the commit, as the app's own do.
    """

    session: AsyncSession
    tenant_id: int
    event_id: int
    now: datetime
    settings: TenantSettings
    providers: dict[Channel, Provider] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    appointment_changes: list[AppointmentNotice] = field(default_factory=list)
    #: The booking service (``core.booking.service.Booking``), carried for chat booking.
    booking: object | None = None
    booking_changes: list[AppointmentChange] = field(default_factory=list)
    #: The inbound message being answered (the automation policy never answers a machine).
    answering: int | None = None
    #: The tenant's own numbers and addresses: a message from one of them is automated.
    own_addresses: frozenset[str] = frozenset()
    #: What the batch's transaction already read (set-based, before its events are applied).
    lookups: BatchLookups | None = None
    #: Conversations opened by this step (nothing in them precedes its message).
    opened: set[int] = field(default_factory=set)
    #: Where replies that may wait for the end of the transaction are collected (a
    #: ``core.pipeline.replies.DeferredReplies``, submitted together); None: submitted at once.
    replies: object | None = None
    #: Whether Sara leaves to an agent a yes, no or cancellation that may repeat an answer just
    #: given about another appointment (off only to test the backstops behind it).
    echo_guard: bool = True
    _last_outbound: dict[tuple[int, int], t.MessageRow | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        announce_with_commit(self.session, self.events)

    def provider_for(self, channel: Channel) -> Provider:
        """The provider the tenant set up for ``channel`` (the default one otherwise)."""
        return self.providers.get(Channel(channel)) or DEFAULT_PROVIDER[Channel(channel)]

    def changed(self, message: t.MessageRow) -> None:
        """Note that ``message`` and its conversation changed."""
        self.events.append(MessageChanged(message.id, message.conversation_id))
        self.events.append(ConversationChanged(message.conversation_id))


async def record_event(
    step: IngestStep, conversation: t.ConversationRow, stored: Line, meta: dict[str, Any]
) -> t.MessageRow:
    """Leave an internal event in the thread, written by Sara (``stored``: a
    ``core.i18n.deferred.line``, put into words in each agent's language when shown)."""
    row = await add_event(
        step.session,
        conversation,
        stored,
        sender_type=SenderType.SARA,
        meta={"sara": True, **meta},
        created_at=step.now,
    )
    step.changed(row)
    return row


#: Outbound messages the prospect never got: not what they are answering.
_NOT_RECEIVED = (
    MessageStatus.CANCELLED,
    MessageStatus.EXPIRED,
    MessageStatus.FAILED,
    MessageStatus.UNDELIVERED,
)


async def last_outbound(
    step: IngestStep, conversation: t.ConversationRow, message: t.MessageRow
) -> t.MessageRow | None:
    """The last message the prospect got in ``conversation`` before ``message`` (by the time it
    went out: a survey brought forward goes out after messages queued later)."""
    if conversation.id in step.opened:
        return None  # the conversation began with ``message``
    key = (conversation.id, message.id)
    if key in step._last_outbound:
        return step._last_outbound[key]
    M = t.MessageRow
    query = (
        select(M)
        .where(
            M.conversation_id == conversation.id,
            M.direction == Direction.OUTBOUND,
            M.kind == MessageKind.MESSAGE,
            M.id < message.id,
            M.status.not_in(_NOT_RECEIVED),
        )
        .order_by(func.coalesce(M.sent_at, M.created_at).desc(), M.id.desc())
        .limit(1)
    )
    found = (await step.session.execute(query)).scalar_one_or_none()
    step._last_outbound[key] = found
    return found


async def read_last_outbound(
    session: AsyncSession, items: list[tuple[IngestStep, t.ConversationRow, t.MessageRow]]
) -> None:
    """``last_outbound`` for each (step, conversation, new message) of a group, in one query:
    each conversation's last received outbound message, kept in its step. A conversation whose
    last one is not older than the message (written meanwhile by another transaction) is left
    for ``last_outbound`` to read alone."""
    wanted = {conversation.id: (step, message) for step, conversation, message in items}
    wanted = {cid: pair for cid, pair in wanted.items() if cid not in pair[0].opened}
    if not wanted:
        return
    M = t.MessageRow
    newest = max(message.id for _, message in wanted.values())
    order = (func.coalesce(M.sent_at, M.created_at).desc(), M.id.desc())
    ranked = (
        select(
            M.id,
            func.row_number().over(partition_by=M.conversation_id, order_by=order).label("rank"),
        )
        .where(
            M.conversation_id.in_(wanted),
            M.direction == Direction.OUTBOUND,
            M.kind == MessageKind.MESSAGE,
            M.id < newest,
            M.status.not_in(_NOT_RECEIVED),
        )
        .subquery()
    )
    query = select(M).join(ranked, ranked.c.id == M.id).where(ranked.c.rank == 1)
    found = {row.conversation_id: row for row in (await session.execute(query)).scalars()}
    for cid, (step, message) in wanted.items():
        row = found.get(cid)
        if row is None or row.id < message.id:
            step._last_outbound[(cid, message.id)] = row
