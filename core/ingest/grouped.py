"""New inbound messages from different prospects, applied together in one ingest transaction.

Applied one by one, each message costs three flushes (its prospect, its conversation and
message, the conversation's counters) and a savepoint. A group instead stages every
message's rows first, inserts the group's new prospects in one flush, then its new
conversations, messages and conversation updates in another (SQLAlchemy sends each kind of
row as one multi-row ``INSERT … RETURNING``), and only then lets Sara answer each message in
order: she needs the message's id, and finds every row she reads already written.

A group holds only messages that are not in the database yet, from senders whose prospect
(or its absence) the batch's lookups already read, one message per prospect: so Sara's
answer to one of them can read nothing another one of the group changes, and each
conversation's items keep their order. The worker claims a group in one statement and
applies it in one savepoint; if anything in it fails, the savepoint is rolled back and the
group's events are applied one by one, so that only the failing one is marked failed.

What a message's rows need that reads nothing the transaction writes (its step, its message
row with its text and metadata, a new sender's prospect row) is built by ``prepare_inbound``
before the transaction takes SQLite's write lock; only attaching them, the flushes and Sara's
rules run while it is held.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from sqlalchemy.ext.asyncio import AsyncSession

from core.channels.adapter import InboundMessage
from core.domain.enums import Provider
from core.domain.tenant_settings import TenantSettings
from core.ingest.apply import (
    GROUP_CHATS,
    append_inbound,
    inbound_row,
    known,
    latest_conversation,
    opened,
    remember_provider,
)
from core.ingest.identity import (
    canonical_identifier,
    identifier_kind,
    new_prospect,
    prospect_created,
    resolve_prospect,
)
from core.intents.sara import handle_inbound
from core.storage import tables as t
from core.storage.inbound_step import BatchLookups, IngestStep, read_last_outbound
from core.storage.timeline import open_conversation

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from core.ingest.worker import PendingEvent


@dataclass(slots=True)
class Prepared:
    """A new inbound message's step and rows, built before the write lock is taken: its
    message row (attached to its conversation when applied) and, if the batch's lookups knew
    no prospect at its address, the new prospect's row (used if still unknown then)."""

    step: IngestStep
    event: InboundMessage
    message: t.MessageRow
    prospect: t.ProspectRow | None = None


def prepare_inbound(
    rows: Iterable[PendingEvent],
    lookups: BatchLookups,
    make_step: Callable[[PendingEvent], IngestStep],
) -> dict[int, Prepared]:
    """For each of ``rows`` that may join a group (``inbound_ahead``), what it needs that
    reads nothing the transaction writes, by stored event id. Python work only: nothing is
    added to the session (a row not applied in this transaction leaves nothing behind)."""
    prepared: dict[int, Prepared] = {}
    for row in rows:
        keys = _keys(row, lookups)
        if keys is None:
            continue
        step = make_step(row)
        event = cast(InboundMessage, row.events[0])  # ``_keys``: one new inbound message
        prospect = None
        if lookups.prospects[keys[0]] is None:
            prospect = new_prospect(step, event.channel, event.sender, event.sender_name)
        prepared[row.id] = Prepared(step, event, inbound_row(step, event), prospect)
    return prepared


@dataclass(slots=True)
class Staged:
    """One message of a group, its rows added to the session (not flushed yet)."""

    step: IngestStep
    event: InboundMessage
    prospect: t.ProspectRow
    created: bool
    conversation: t.ConversationRow | None = None
    new_conversation: bool = False
    message: t.MessageRow | None = None
    #: The message's row built before the write lock was taken (``Prepared.message``).
    prepared: t.MessageRow | None = None

    def rows(self) -> tuple[t.ConversationRow, t.MessageRow]:
        """The conversation and the message, once stored."""
        assert self.conversation is not None and self.message is not None
        return self.conversation, self.message


def inbound_ahead(
    queue: deque[PendingEvent], most: int, lookups: BatchLookups, settings: TenantSettings
) -> list[PendingEvent]:
    """Take from the head of ``queue`` the stored events (up to ``most``) that can be applied
    as one group (see the module's docstring), in order; none if the head cannot."""
    if settings.auto_assign:  # assignment writes in the thread before the message: one by one
        return []
    group: list[PendingEvent] = []
    senders: set[tuple[str, str]] = set()
    prospects: set[int] = set()
    messages: set[tuple[str, str]] = set()
    while queue and len(group) < most:
        keys = _keys(queue[0], lookups)
        if keys is None:
            break
        sender, message = keys
        known_prospect = lookups.prospects[sender]
        prospect_id = known_prospect.id if known_prospect is not None else None
        if sender in senders or message in messages or prospect_id in prospects:
            break
        senders.add(sender)
        messages.add(message)
        if prospect_id is not None:
            prospects.add(prospect_id)
        group.append(queue.popleft())
    return group


def _keys(row: PendingEvent, lookups: BatchLookups) -> tuple[tuple[str, str], ...] | None:
    """The row's sender and message keys if it can join a group, else None."""
    if row.error is not None or len(row.events) != 1:
        return None
    event = row.events[0]
    if not isinstance(event, InboundMessage) or not event.provider_message_id:
        return None
    if event.extra.get("edited") or event.extra.get("chat_type") in GROUP_CHATS:
        return None
    message = (str(Provider(event.provider)), event.provider_message_id)
    if message not in lookups.messages or lookups.messages[message] is not None:
        return None  # not read, or a replay
    try:
        sender = (identifier_kind(event.channel), canonical_identifier(event.channel, event.sender))
    except Exception:  # not an identifier of its channel: it fails alone
        return None
    if sender not in lookups.prospects:
        return None
    return sender, message


async def apply_group(session: AsyncSession, items: list[Prepared]) -> None:
    """Apply a group's messages: their rows in two flushes, then Sara's rules, in order."""
    staged = [await _prospect(item) for item in items]
    if any(item.created for item in staged):
        await session.flush()
    for item in staged:
        if item.created:
            prospect_created(item.step, item.event.channel, item.prospect)
        await _message(item)
    await session.flush()
    for item in staged:
        _stored(item)
    await read_last_outbound(session, [(i.step, *i.rows()) for i in staged])
    for item in staged:
        conversation, message = item.rows()
        await handle_inbound(
            item.step,
            item.prospect,
            conversation,
            message,
            new_conversation=item.new_conversation,
        )


async def _prospect(item: Prepared) -> Staged:
    step, event = item.step, item.event
    prospect, created = await resolve_prospect(
        step, event.channel, event.sender, event.sender_name, flush=False, new_row=item.prospect
    )
    return Staged(step, event, prospect, created, prepared=item.message)


async def _message(item: Staged) -> None:
    """Add the message (and its conversation if it opens one) to the session, unflushed."""
    step, event = item.step, item.event
    conversation = await latest_conversation(step, item.prospect.id, event.channel)
    if conversation is None:
        item.new_conversation = True
        conversation = await open_conversation(
            step.session,
            item.prospect,
            event.channel,
            identifier=canonical_identifier(event.channel, event.sender),
            subject=event.subject,
            created_at=step.now,
            flush=False,
        )
    remember_provider(conversation, event)
    item.conversation = conversation
    item.message = await append_inbound(step, conversation, event, False, item.prepared)


def _stored(item: Staged) -> None:
    """What ``apply_inbound`` notes once the message is stored, with its ids known."""
    step, conversation, message = item.step, item.conversation, item.message
    assert conversation is not None and message is not None
    if item.new_conversation:
        opened(step, conversation)
    known(step, message)
    step.changed(message)
