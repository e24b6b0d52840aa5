"""A batch's reads, set-based: the rows its events refer to, in a few queries instead of a few
per event (provider message ids for dedupe and status callbacks, with the id a SendGrid event id
extends, senders, their conversations).

Read inside the batch's transaction before its first event is applied, so the rows are the
session's own (changed in place, flushed with the events' effects).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.channels.adapter import (
    CallReport,
    EngagementEvent,
    InboundMessage,
    NormalizedEvent,
    StatusUpdate,
)
from core.domain.enums import Channel, Provider
from core.ingest.apply import GROUP_CHATS, prefix_base
from core.ingest.identity import canonical_identifier, identifier_kind
from core.storage import tables as t
from core.storage.inbound_step import BatchLookups
from core.storage.timeline import latest_conversations

M = t.MessageRow
P = t.ProspectRow


async def read_lookups(
    session: AsyncSession, tenant_id: int, events: Iterable[NormalizedEvent]
) -> BatchLookups:
    """What ``events`` will look up, read in at most four queries."""
    ids: set[tuple[str, str]] = set()
    senders: set[tuple[str, str]] = set()
    for event in events:
        match event:
            case InboundMessage():
                ids.add((str(Provider(event.provider)), event.provider_message_id))
                if event.extra.get("chat_type") not in GROUP_CHATS:
                    _add_sender(senders, event.channel, event.sender)
            case StatusUpdate() | EngagementEvent():
                provider = str(Provider(event.provider))
                ids.add((provider, event.provider_message_id))
                if event.prefix_match:  # SendGrid's event id extends the id stored at the send
                    ids.add((provider, prefix_base(event.provider_message_id)))
            case CallReport():
                ids.add((str(Provider(event.provider)), event.provider_call_id))
                if event.phone:
                    _add_sender(senders, Channel.VOICE, event.phone)
    lookups = BatchLookups()
    ids = {(p, i) for p, i in ids if i}
    if ids:
        await _messages(session, tenant_id, ids, lookups)
    if senders:
        await _prospects(session, tenant_id, senders, lookups)
    return lookups


def _add_sender(senders: set[tuple[str, str]], channel: Channel, raw: str) -> None:
    try:
        senders.add((identifier_kind(channel), canonical_identifier(channel, raw)))
    except Exception:  # not an identifier of its channel: the event fails when applied
        return


async def _messages(
    session: AsyncSession, tenant_id: int, ids: set[tuple[str, str]], lookups: BatchLookups
) -> None:
    # The tenant is checked below, not in the query: with it there, SQLite's planner walks
    # the tenant's whole index (all its messages, ~0.3 s a batch at 100k messages) instead of
    # the (provider, provider_message_id) one (issue 17).
    query = (
        select(M)
        .where(
            M.provider.in_({p for p, _ in ids}),
            M.provider_message_id.in_({i for _, i in ids}),
        )
        .order_by(M.id.desc())  # the first stored wins below
    )
    lookups.messages.update(dict.fromkeys(ids))
    for row in (await session.execute(query)).scalars():
        key = (str(row.provider), str(row.provider_message_id))
        if key in ids and row.tenant_id == tenant_id:
            lookups.messages[key] = row


async def _prospects(
    session: AsyncSession, tenant_id: int, senders: set[tuple[str, str]], lookups: BatchLookups
) -> None:
    phones = {i for k, i in senders if k == "phone"}
    emails = {i for k, i in senders if k == "email"}
    chats = {int(i) for k, i in senders if k == "telegram"}
    wanted = [P.phone.in_(phones), P.whatsapp.in_(phones), P.email.in_(emails)]
    wanted.append(P.telegram_chat_id.in_(chats))
    query = (
        select(P)
        .where(P.tenant_id == tenant_id, P.merged_into_id.is_(None), or_(*wanted))
        .order_by(P.id.desc())  # the lowest id wins below, as in ``find_row``
    )
    lookups.prospects.update(dict.fromkeys(senders))
    found: list[P] = []
    for row in (await session.execute(query)).scalars():
        found.append(row)
        for key in _keys(row):
            if key in senders:
                lookups.prospects[key] = row
    if not found:
        return
    conversations = await latest_conversations(session, [row.id for row in found])
    for row in found:
        for channel in Channel:
            latest = conversations.get((row.id, channel))
            lookups.conversations[(row.id, str(channel))] = latest


def _keys(row: P) -> list[tuple[str, str]]:
    keys = [("phone", p) for p in (row.phone, row.whatsapp) if p]
    if row.email:
        keys.append(("email", row.email))
    if row.telegram_chat_id is not None:
        keys.append(("telegram", str(row.telegram_chat_id)))
    return keys
