"""Reading and triaging conversations: the inbox list, counts, threads, status, labels…

The list is read from the denormalised conversation rows only, one keyset page at a time, so it
stays fast with hundreds of thousands of conversations.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    and_,
    delete,
    false,
    literal_column,
    null,
    or_,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain import models as m
from core.domain.enums import ConversationStatus, Direction, MessageKind, Priority
from core.domain.inbox_filter import InboxFilter, Sort, View
from core.errors import InvalidInput, NotFound
from core.events import ConversationChanged
from core.service.drafts import drafted_ids
from core.storage import convert, inbox_list
from core.storage import tables as t
from core.storage.search import matched_conversations, matched_params
from core.storage.service_context import ServiceContext
from core.storage.text import snippet
from core.team import audit

C = t.ConversationRow
#: A message's columns, read as a plain row (``meta`` keeps its attribute name).
_MESSAGE_COLUMNS = tuple(getattr(t.MessageRow, a.key) for a in t.MessageRow.__mapper__.column_attrs)
#: What an inbox row shows of a conversation (and what a page's keyset cursor is made of),
#: read as a plain row: not the context (JSON), the timestamps nor the links it does not show.
_SUMMARY_COLUMNS: tuple[Any, ...] = (
    C.id,
    C.prospect_id,
    C.prospect_name,
    C.channel_type,
    C.status,
    C.priority,
    C.assignee_id,
    C.subject,
    C.last_message_at,
    C.last_message_preview,
    C.last_message_direction,
    C.unread_count,
    C.waiting_since,
    C.snoozed_until,
    C.message_count,
)
THREAD_LIMIT = 500
#: Page statements kept for reuse (``Conversations._statements``).
STATEMENTS_KEPT = 64
MAX_LABELS = 20
#: The list the app opens on.
EVERYTHING = InboxFilter()


class Conversations:
    """The inbox and the conversation screen's reads and triage actions."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        #: Page statements by what shapes them (the filter but the search's words, the cursor,
        #: the size): a search's words (and match limits) are bound when it is read, so each
        #: key of a search as you type reuses the statement made for the first (building one
        #: was about as much of the app's work as running it).
        self._statements: dict[tuple[object, ...], Select[Any] | None] = {}

    async def page(
        self, flt: InboxFilter = EVERYTHING, cursor: str | None = None, limit: int = 50
    ) -> m.Page[m.ConversationSummary]:
        """One page of the inbox list; pass ``next_cursor`` back for the next page."""
        if not 1 <= limit <= 500:
            raise InvalidInput("limit", limit, "a page size between 1 and 500")
        if flt.is_first_screen() and cursor is None:
            return await self._first_page(limit)
        search = flt.search if _searching(flt) else None
        async with self.ctx.db.session() as session:
            bound = matched_params(session, search) if search else {}
            statement = None if bound is None else self._statement(session, flt, cursor, limit)
            if statement is None:
                return m.Page[m.ConversationSummary](items=())
            rows = (await session.execute(statement, bound)).all()
        grouped = inbox_list.grouped_labels(rows)
        items = _summaries(grouped[:limit], search)
        next_cursor = (
            _encode_cursor(grouped[limit - 1][0], flt.sort) if len(grouped) > limit else None
        )
        return m.Page[m.ConversationSummary](items=tuple(items), next_cursor=next_cursor)

    async def _first_page(self, limit: int) -> m.Page[m.ConversationSummary]:
        """The page the app opens on, by the statement its start reads it with."""
        params = {"tenant_id": self.ctx.tenant_id, "limit": limit + 1}
        async with self.ctx.db.session() as session:
            rows = (await session.execute(text(inbox_list.FIRST_PAGE_SQL), params)).all()
        return inbox_list.first_page(rows, limit)

    def _statement(
        self, session: AsyncSession, flt: InboxFilter, cursor: str | None, limit: int
    ) -> Select[Any] | None:
        """The page's statement, made once per shape (``_statements``); None when ``flt``
        cannot show any conversation."""
        shape = (
            dataclasses.replace(flt, search="*" if _searching(flt) else None),
            flt.agent_id,
            self.ctx.tenant_id,
            self.ctx.agent_id,
            cursor,
            limit,
        )
        if shape in self._statements:
            return self._statements[shape]
        query = self._filtered(session, flt)
        statement = None
        if query is not None:
            query = _order(query, flt.sort, _decode_cursor(cursor)).limit(limit + 1)
            statement = _with_beside(query, flt.sort, flt.search if _searching(flt) else None)
        if len(self._statements) >= STATEMENTS_KEPT:
            self._statements.clear()
        self._statements[shape] = statement
        return statement

    def _filtered(self, session: AsyncSession, flt: InboxFilter) -> Select[Any] | None:
        """The conversations ``flt`` shows, as plain rows (with the newest matching message's
        id, ``mid``, when it searches); None when it cannot show any."""
        query: Select[Any] = select(*_SUMMARY_COLUMNS).where(C.tenant_id == self.ctx.tenant_id)
        searching = _searching(flt)
        if not (searching and flt.view is View.ALL):
            # a search looks in every state (open, pending, snoozed, closed); ``statuses``
            # narrows it to one (the search facet)
            query = _apply_view(query, flt.view, flt.agent_id or self.ctx.agent_id)
        if flt.channel:
            query = query.where(C.channel_type == flt.channel)
        if flt.statuses:
            query = query.where(C.status.in_([s.value for s in flt.statuses]))
        if flt.label:
            labelled = select(t.ConversationLabelRow.conversation_id).where(
                t.ConversationLabelRow.label == flt.label
            )
            query = query.where(C.id.in_(labelled))
        if flt.since:
            query = query.where(C.last_message_at >= flt.since)
        if flt.until:
            query = query.where(C.last_message_at < flt.until)
        if searching:
            matched = matched_conversations(session, self.ctx.tenant_id, str(flt.search))
            if matched is None:
                return None
            query = query.join(matched, matched.c.cid == C.id).add_columns(matched.c.mid)
        return query

    async def counts(self) -> dict[str, tuple[int, int]]:
        """Per channel (and "all"): (unread conversations, conversations) among open and pending."""
        params = {"tenant_id": self.ctx.tenant_id}
        async with self.ctx.db.session() as session:
            rows = (await session.execute(text(inbox_list.COUNTS_SQL), params)).all()
        return inbox_list.counts(rows)

    async def get(self, conversation_id: int) -> m.Conversation:
        """One conversation with its labels, assignee and links."""
        async with self.ctx.db.session() as session:
            row = await self._row(session, conversation_id)
            return await _full(session, row)

    async def thread(self, conversation_id: int, limit: int = THREAD_LIMIT) -> m.Thread:
        """The conversation, its prospect and the prospect's timeline across all channels: its
        newest ``limit`` messages (``Thread.complete`` is False when there are older ones; a
        screen reads a screen's worth first and more as the reader goes up).

        Set-based: the prospect's conversations in one read, their labels, drafts and the
        names of assignees and writers in one read each; the messages are read as plain rows
        (no ORM objects: a long thread spent most of its conversion building them).
        """
        async with self.ctx.db.session() as session:
            prospect_id = select(C.prospect_id).where(C.id == conversation_id).scalar_subquery()
            found = (
                await session.execute(
                    select(C, t.ProspectRow)
                    .join(t.ProspectRow, t.ProspectRow.id == C.prospect_id)
                    .where(C.prospect_id == prospect_id)
                )
            ).all()
            rows = [r for r, _ in found]
            row = next((r for r in rows if r.id == conversation_id), None)
            if row is None or row.tenant_id != self.ctx.tenant_id:
                raise NotFound("conversation", conversation_id)
            related_rows = [r for r in rows if r.id != row.id]
            prospect = found[0][1]
            query = (
                select(*_MESSAGE_COLUMNS)
                .where(t.MessageRow.prospect_id == row.prospect_id)
                .order_by(t.MessageRow.created_at.desc(), t.MessageRow.id.desc())
                .limit(limit + 1)  # one more: whether there are older ones
            )
            messages = (await session.execute(query)).all()
            complete = len(messages) <= limit
            messages = messages[:limit]
            writers = {r.sender_id for r in messages if r.sender_type == "agent" and r.sender_id}
            agents = writers | {r.assignee_id for r in rows if r.assignee_id}
            labels, drafted, switched_to, names = await _around(session, row, rows, agents)
            appointments = (
                (
                    await session.execute(
                        select(t.AppointmentRow)
                        .where(t.AppointmentRow.prospect_id == row.prospect_id)
                        .where(t.AppointmentRow.tenant_id == self.ctx.tenant_id)
                        .order_by(t.AppointmentRow.starts_at)
                    )
                )
                .scalars()
                .all()
            )
        conversation = convert.conversation(
            row,
            labels.get(row.id, ()),
            names.get(row.assignee_id) if row.assignee_id else None,
            tuple(switched_to),
        )
        if row.id in drafted:
            conversation = conversation.model_copy(update={"has_draft": True})
        related = [
            convert.conversation_summary(
                r,
                labels.get(r.id, ()),
                names.get(r.assignee_id) if r.assignee_id else None,
                r.id in drafted,
            )
            for r in related_rows
        ]
        return m.Thread(
            conversation=conversation,
            prospect=convert.prospect(prospect),
            messages=tuple(_signed(convert.message(r), names) for r in reversed(messages)),
            related=tuple(related),
            complete=complete,
            appointments=tuple(convert.appointment(a) for a in appointments),
        )

    async def _row(self, session: AsyncSession, conversation_id: int) -> t.ConversationRow:
        row = await session.get(C, conversation_id)
        if row is None or row.tenant_id != self.ctx.tenant_id:
            raise NotFound("conversation", conversation_id)
        return row

    async def _change(
        self, conversation_id: int, audited: str | None = None, **values: Any
    ) -> None:
        async with self.ctx.write() as (session, events):
            row = await self._row(session, conversation_id)
            before = {name: getattr(row, name) for name in values}
            for name, value in values.items():
                setattr(row, name, value)
            if audited is not None:
                await audit.record(
                    session,
                    self.ctx,
                    audited,
                    "conversation",
                    conversation_id,
                    **{k: [before[k], v] for k, v in values.items() if before[k] != v},
                )
            events.append(ConversationChanged(conversation_id))

    async def mark_read(self, conversation_id: int) -> None:
        """Nothing unread in the conversation any more."""
        await self._change(conversation_id, unread_count=0)

    async def set_status(self, conversation_id: int, status: ConversationStatus) -> None:
        """Close, reopen or set pending."""
        status = ConversationStatus(status)
        closed_at = self.ctx.now() if status == ConversationStatus.CLOSED else None
        await self._change(
            conversation_id,
            "set_status",
            status=status,
            closed_at=closed_at,
            snoozed_until=None,
        )

    async def snooze(self, conversation_id: int, until: datetime | None) -> None:
        """Hide the conversation until ``until`` (None: until the prospect writes again)."""
        if until is not None and until <= self.ctx.now():
            raise InvalidInput("snooze until", until, "a moment in the future")
        await self._change(
            conversation_id, "snooze", status=ConversationStatus.SNOOZED, snoozed_until=until
        )

    async def wake_snoozed(self) -> int:
        """Reopen every conversation whose snooze has ended; returns how many."""
        async with self.ctx.write() as (session, events):
            due = (
                (
                    await session.execute(
                        select(C.id).where(
                            C.tenant_id == self.ctx.tenant_id,
                            C.status == ConversationStatus.SNOOZED,
                            C.snoozed_until <= self.ctx.now(),
                        )
                    )
                )
                .scalars()
                .all()
            )
            if due:
                await session.execute(
                    update(C)
                    .where(C.id.in_(due))
                    .values(status=ConversationStatus.OPEN, snoozed_until=None)
                )
            events.extend(ConversationChanged(i) for i in due)
        return len(due)

    async def set_priority(self, conversation_id: int, priority: Priority) -> None:
        """Urgent, high, medium or low."""
        await self._change(conversation_id, "set_priority", priority=Priority(priority).rank)

    async def assign(self, conversation_id: int, agent_id: int | None) -> None:
        """Give the conversation to an agent (None: back to the unassigned queue)."""
        async with self.ctx.write() as (session, events):
            row = await self._row(session, conversation_id)
            if agent_id is not None:
                agent = await session.get(t.AgentRow, agent_id)
                if agent is None or agent.tenant_id != self.ctx.tenant_id:
                    raise NotFound("agent", agent_id)
            previous, row.assignee_id = row.assignee_id, agent_id
            await audit.record(
                session,
                self.ctx,
                "assign",
                "conversation",
                conversation_id,
                **{"from": previous, "to": agent_id},
            )
            events.append(ConversationChanged(conversation_id))

    async def set_labels(self, conversation_id: int, labels: list[str]) -> None:
        """Replace the conversation's labels."""
        clean = sorted({_label(x) for x in labels})
        if len(clean) > MAX_LABELS:
            raise InvalidInput("labels", labels, f"at most {MAX_LABELS} labels")
        async with self.ctx.write() as (session, events):
            await self._row(session, conversation_id)
            before = await _labels_of(session, [conversation_id])
            await audit.record(
                session,
                self.ctx,
                "set_labels",
                "conversation",
                conversation_id,
                labels=[list(before.get(conversation_id, ())), clean],
            )
            await session.execute(
                delete(t.ConversationLabelRow).where(
                    t.ConversationLabelRow.conversation_id == conversation_id
                )
            )
            session.add_all(
                t.ConversationLabelRow(conversation_id=conversation_id, label=x) for x in clean
            )
            events.append(ConversationChanged(conversation_id))

    async def labels(self) -> list[str]:
        """Every label in use, for the filter picker."""
        query = (
            select(t.ConversationLabelRow.label)
            .join(C, C.id == t.ConversationLabelRow.conversation_id)
            .where(C.tenant_id == self.ctx.tenant_id)
            .distinct()
            .order_by(t.ConversationLabelRow.label)
        )
        async with self.ctx.db.session() as session:
            return list((await session.execute(query)).scalars().all())


def _label(raw: str) -> str:
    text = " ".join(str(raw).split()).lower()
    if not 1 <= len(text) <= 64 or any(not (ch.isalnum() or ch in " -_") for ch in text):
        raise InvalidInput("label", raw, "1 to 64 letters, digits, spaces, - or _")
    return text


def _apply_view(query: Select[Any], view: View, agent_id: int | None) -> Select[Any]:
    active = C.status.in_([ConversationStatus.OPEN, ConversationStatus.PENDING])
    match View(view):
        case View.ALL:
            return query.where(active)
        case View.MINE:
            if agent_id is None:  # nobody to be "mine" for: not the unassigned ones
                return query.where(false())
            return query.where(active, C.assignee_id == agent_id)
        case View.UNASSIGNED:
            return query.where(active, C.assignee_id.is_(None))
        case View.SNOOZED:
            return query.where(C.status == ConversationStatus.SNOOZED)
        case View.CLOSED:
            return query.where(C.status == ConversationStatus.CLOSED)


def _searching(flt: InboxFilter) -> bool:
    return bool(flt.search and flt.search.strip())


def _order(query: Select[Any], sort: Sort, after: list[Any] | None) -> Select[Any]:
    if sort == Sort.PRIORITY:
        query = query.where(C.last_message_at.is_not(None))
        if after:
            p, at, i = after[0], datetime.fromisoformat(after[1]), after[2]
            query = query.where(
                or_(
                    C.priority > p,
                    and_(
                        C.priority == p,
                        or_(C.last_message_at < at, and_(C.last_message_at == at, C.id < i)),
                    ),
                )
            )
    elif sort == Sort.WAITING:
        query = query.where(C.waiting_since.is_not(None))
        if after:
            at, i = datetime.fromisoformat(after[0]), after[1]
            query = query.where(or_(C.waiting_since > at, and_(C.waiting_since == at, C.id > i)))
    else:
        query = query.where(C.last_message_at.is_not(None))
        if after:
            at, i = datetime.fromisoformat(after[0]), after[1]
            query = query.where(
                or_(C.last_message_at < at, and_(C.last_message_at == at, C.id < i))
            )
    return query.order_by(*_order_keys(sort, C))


def _order_keys(sort: Sort, columns: Any) -> tuple[Any, ...]:
    """The list's order in ``sort``, on ``columns`` (the table's, or a page's read from it)."""
    if sort == Sort.PRIORITY:
        return (columns.priority.asc(), columns.last_message_at.desc(), columns.id.desc())
    if sort == Sort.WAITING:
        return (columns.waiting_since.asc(), columns.id.asc())
    return (columns.last_message_at.desc(), columns.id.desc())


def _encode_cursor(row: t.ConversationRow, sort: Sort) -> str:
    moment = row.waiting_since if sort == Sort.WAITING else row.last_message_at
    assert moment is not None, "_order leaves out the conversations without it"
    return inbox_list.encode_cursor(moment, row.id, row.priority if sort == Sort.PRIORITY else None)


def _decode_cursor(cursor: str | None) -> list[Any] | None:
    if not cursor:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as exc:
        raise InvalidInput("cursor", cursor, "a cursor returned by a previous page") from exc
    if not isinstance(value, list):
        raise InvalidInput("cursor", cursor, "a cursor returned by a previous page")
    return value


def _with_beside(page: Select[Any], sort: Sort, search: str | None) -> Select[Any]:
    """``page`` (its conversations in ``sort``'s order, with ``mid`` when ``search`` is given)
    with what the list shows beside them, in the same statement: one row per conversation and
    label (none: one row, ``label`` NULL), its assignee's name, whether it has a draft and,
    for a search, the subject and content of its newest matching message.

    One statement, not two: each statement costs the app's thread its own execute path and its
    own round trips to the database's (the page's extras used to be a second read)."""
    rows = page.subquery("page")
    P = rows.c
    L, D, A, M = t.ConversationLabelRow, t.DraftRow, t.AgentRow, t.MessageRow
    drafted = select(D.conversation_id).where(D.conversation_id == P.id).exists()
    columns: list[Any] = [
        *P,
        L.label.label("label"),
        A.name.label("assignee_name"),
        drafted.label("has_draft"),
    ]
    joined = rows.outerjoin(L, L.conversation_id == P.id).outerjoin(A, A.id == P.assignee_id)
    if search:
        columns += [M.subject.label("match_subject"), M.content.label("match_content")]
        joined = joined.outerjoin(M, M.id == P.mid)
    return select(*columns).select_from(joined).order_by(*_order_keys(sort, P))


def _summaries(
    grouped: list[tuple[Any, tuple[str, ...]]], search: str | None
) -> list[m.ConversationSummary]:
    """The list's rows (``_with_beside``'s, with their labels) as the inbox shows them, each
    search result with its newest matching message cut around the match."""
    items = []
    for r, labels in grouped:
        found = None
        if search and r.mid is not None:
            text = " — ".join(p for p in (r.match_subject, r.match_content) if p)
            found = (snippet(text, search) or None) if text else None
        items.append(
            convert.conversation_summary(
                r, labels, r.assignee_name if r.assignee_id else None, bool(r.has_draft), found
            )
        )
    return items


async def _labels_of(session: AsyncSession, ids: list[int]) -> dict[int, tuple[str, ...]]:
    if not ids:
        return {}
    query = select(t.ConversationLabelRow).where(t.ConversationLabelRow.conversation_id.in_(ids))
    found: dict[int, list[str]] = {}
    for row in (await session.execute(query)).scalars():
        found.setdefault(row.conversation_id, []).append(row.label)
    return {k: tuple(sorted(v)) for k, v in found.items()}


async def _around(
    session: AsyncSession,
    row: t.ConversationRow,
    rows: list[t.ConversationRow],
    agents: set[int],
) -> tuple[dict[int, tuple[str, ...]], set[int], tuple[int, ...], dict[int, str]]:
    """What a thread shows around its conversations, in one read: their labels, which have a
    draft, the conversations ``row`` was switched to, and the names of ``agents``."""
    ids = [r.id for r in rows]
    label, draft, switched, agent = (literal_column(str(n), Integer) for n in range(4))
    L, D, A = t.ConversationLabelRow, t.DraftRow, t.AgentRow
    parts = [
        select(label, L.conversation_id, L.label).where(L.conversation_id.in_(ids)),
        select(draft, D.conversation_id, null()).where(D.conversation_id.in_(ids)),
        select(switched, C.id, null()).where(C.switched_from_id == row.id),
    ]
    if agents:
        parts.append(select(agent, A.id, A.name).where(A.id.in_(agents)))
    labels: dict[int, list[str]] = {}
    drafted: set[int] = set()
    switched_to: list[int] = []
    names: dict[int, str] = {}
    for kind, key, value in (await session.execute(union_all(*parts))).all():
        if kind == 0:
            labels.setdefault(key, []).append(str(value))
        elif kind == 1:
            drafted.add(key)
        elif kind == 2:
            switched_to.append(key)
        else:
            names[key] = str(value)
    sorted_labels = {k: tuple(sorted(v)) for k, v in labels.items()}
    return sorted_labels, drafted, tuple(sorted(switched_to)), names


async def _agent_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(
        select(t.AgentRow.id, t.AgentRow.name).where(t.AgentRow.id.in_(ids))
    )
    return {agent_id: name for agent_id, name in rows.all()}


def _signed(message: m.Message, writers: dict[int, str]) -> m.Message:
    """The message with its agent's name, when an agent wrote it."""
    name = writers.get(message.sender_id) if message.sender_id else None
    return message.model_copy(update={"sender_name": name}) if name else message


async def _full(session: AsyncSession, row: t.ConversationRow) -> m.Conversation:
    labels = await _labels_of(session, [row.id])
    names = await _agent_names(session, {row.assignee_id} if row.assignee_id else set())
    switched_to = (
        (await session.execute(select(C.id).where(C.switched_from_id == row.id).order_by(C.id)))
        .scalars()
        .all()
    )
    conversation = convert.conversation(
        row,
        labels.get(row.id, ()),
        names.get(row.assignee_id) if row.assignee_id else None,
        tuple(switched_to),
    )
    if await drafted_ids(session, [row.id]):
        return conversation.model_copy(update={"has_draft": True})
    return conversation


__all__ = ["Conversations", "Direction", "InboxFilter", "MessageKind", "Sort", "View"]
