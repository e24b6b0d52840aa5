"""A batch's writes without ORM objects (``submit(..., rows=False)``, a broadcast chunk).

The rows are the ones the ORM path writes (the same builders: ``timeline.message_values``,
``timeline.conversation_values``, ``queue.plan``), kept as plain values until the batch's end,
then written in the caller's transaction: one ``INSERT … RETURNING id`` per table (conversations
the batch opens, then their messages, then the outbox rows; ids in parameter order) and one
executemany ``UPDATE`` of the conversations it added messages to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.enums import Channel
from core.pipeline.queue import Planned
from core.storage import tables as t
from core.storage.bulk_sqlite import sqlite_insert
from core.storage.timeline import ProspectFields, conversation_values, fold_item, message_values

C = cast(Table, t.ConversationRow.__table__)
M = cast(Table, t.MessageRow.__table__)
O = cast(Table, t.OutboxRow.__table__)  # noqa: E741

#: The conversation columns a batch reads, and those a new message changes.
_READ = (
    "id",
    "tenant_id",
    "prospect_id",
    "channel_type",
    "channel_identifier",
    "context",
    "message_count",
    "last_message_at",
    "last_message_preview",
    "last_message_direction",
    "unread_count",
    "waiting_since",
    "status",
    "closed_at",
    "snoozed_until",
)
#: The conversation columns a message folded into its conversation changes (``fold_item``).
DENORMALISED = _READ[6:]
#: A conversation's denormalised columns as they are now, in ``DENORMALISED`` order.
_denormalised = attrgetter(*DENORMALISED)


@dataclass(slots=True)
class Thread:
    """A conversation as a batch sees it: read from the database (``id`` set) or opened by
    the batch (``values``: what its row is inserted with)."""

    id: int | None
    tenant_id: int
    prospect_id: int
    channel_type: str
    channel_identifier: str | None
    context: dict[str, Any]
    message_count: int
    last_message_at: datetime | None
    last_message_preview: str
    last_message_direction: str | None
    unread_count: int
    waiting_since: datetime | None
    status: str
    closed_at: datetime | None
    snoozed_until: datetime | None
    values: dict[str, Any] | None = None

    def insert_values(self) -> dict[str, Any]:
        """The row of a conversation the batch opened, with the messages it added."""
        assert self.values is not None, "only a conversation the batch opened is inserted"
        return {**self.values, **dict(zip(DENORMALISED, _denormalised(self), strict=True))}


class Fields:
    """Attribute access to a pending row's values, so that ``policy.mark_held`` marks a
    batch's row as it marks an ORM one."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, Any]) -> None:
        object.__setattr__(self, "_values", values)

    def __getattr__(self, name: str) -> Any:
        return self._values.get(name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._values[name] = value


async def latest_threads(
    session: AsyncSession, prospect_ids: Iterable[int]
) -> dict[tuple[int, Channel], Thread]:
    """Each prospect's most recent conversation per channel (``latest_conversations``,
    without ORM rows)."""
    ids = sorted(set(prospect_ids))
    if not ids:
        return {}
    columns = [C.c[name] for name in _READ]
    query = select(*columns).where(C.c.prospect_id.in_(ids)).order_by(C.c.id)
    found = {}
    for row in await session.execute(query):
        thread = Thread(*row)
        found[(thread.prospect_id, Channel(thread.channel_type))] = thread
    return found


def open_thread(prospect: ProspectFields, channel: Channel, identifier: str | None) -> Thread:
    """A conversation the batch opens (``open_conversation``'s row), inserted at its end."""
    values = conversation_values(prospect, channel, identifier=identifier)
    return Thread(
        None,
        values["tenant_id"],
        values["prospect_id"],
        channel,
        identifier,
        values["context"],
        values["message_count"],
        None,
        "",
        None,
        values["unread_count"],
        None,
        values["status"],
        None,
        None,
        values,
    )


@dataclass
class Pending:
    """A batch's rows, as values, until ``write``."""

    opened: list[Thread] = field(default_factory=list)
    messages: list[tuple[dict[str, Any], Thread]] = field(default_factory=list)
    #: Outbox rows with the index of their message in ``messages`` (None: no message).
    rows: list[tuple[dict[str, Any], int | None]] = field(default_factory=list)
    #: Conversations read from the database that the batch added messages to, by id, with
    #: their denormalised columns as read.
    touched: dict[int, tuple[Thread, tuple[Any, ...]]] = field(default_factory=dict)

    def open(self, thread: Thread) -> Thread:
        """Insert ``thread`` (``open_thread``) with the batch."""
        self.opened.append(thread)
        return thread

    def queue(self, thread: Thread, planned: Planned) -> tuple[Fields, Fields]:
        """Add ``planned``'s message to ``thread`` and its outbox row; views of both values
        (``mark_held`` may still change them)."""
        message = message_values(thread, **planned.message)
        if thread.id is not None and thread.id not in self.touched:
            self.touched[thread.id] = (thread, _denormalised(thread))
        fold_item(
            thread,
            kind=message["kind"],
            at=message["created_at"],
            text=message["subject"] or message["content"],
            direction=message["direction"],
            sender_type=message["sender_type"],
            status=message["status"],
        )
        self.messages.append((message, thread))
        self.rows.append((planned.row, len(self.messages) - 1))
        return Fields(message), Fields(planned.row)

    def record(self, values: dict[str, Any]) -> None:
        """Insert an outbox row of no message (a refused request's record) with the batch."""
        self.rows.append((values, None))

    async def write(self, session: AsyncSession) -> list[tuple[int, int, int]]:
        """Write everything in ``session``'s transaction; the (message id, outbox row id,
        conversation id) of each queued message, in the order they were queued."""
        if self.opened:
            opened = [th.insert_values() for th in self.opened]
            for thread, new_id in zip(self.opened, await _insert(session, C, opened), strict=True):
                thread.id = new_id
        for message, thread in self.messages:
            message["conversation_id"] = thread.id
        message_ids = await _insert(session, M, [m for m, _ in self.messages])
        queued = []
        for values, index in self.rows:
            if index is not None:
                values["message_id"] = message_ids[index]
                values["conversation_id"] = self.messages[index][1].id
        row_ids = await _insert_grouped(session, O, [v for v, _ in self.rows])
        for (_, index), row_id in zip(self.rows, row_ids, strict=True):
            if index is not None:
                thread = self.messages[index][1]
                assert thread.id is not None
                queued.append((message_ids[index], row_id, thread.id))
        await _update_threads(session, self.touched.values())
        return queued


#: Columns whose ORM attribute has another name: the values by attribute name fill them.
_RENAMED: dict[Table, dict[str, Any]] = {M: {"metadata": bindparam("meta")}}


async def _insert(session: AsyncSession, table: Any, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` (values by ORM attribute name, the same keys each) in one statement;
    their ids in the same order."""
    if not rows:
        return []
    if session.get_bind().dialect.name == "sqlite":
        return await sqlite_insert(session, table, rows)
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    if table in _RENAMED:
        statement = statement.values(_RENAMED[table])
    result = await session.execute(statement, list(rows))
    return [row_id for (row_id,) in result]


async def _insert_grouped(
    session: AsyncSession, table: Any, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """``_insert`` of rows that may set different columns (the others take their defaults):
    one statement per set of columns; the ids in the order of ``rows``."""
    groups: dict[tuple[str, ...], list[int]] = {}
    for index, values in enumerate(rows):
        groups.setdefault(tuple(values), []).append(index)
    ids = [0] * len(rows)
    for indexes in groups.values():
        for index, row_id in zip(
            indexes, await _insert(session, table, [rows[i] for i in indexes]), strict=True
        ):
            ids[index] = row_id
    return ids


async def _update_threads(
    session: AsyncSession, touched: Iterable[tuple[Thread, tuple[Any, ...]]]
) -> None:
    """The denormalised columns ``fold_item`` changed (as the ORM's flush would: only those
    that changed), one executemany per set of changed columns."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for thread, before in touched:
        after = _denormalised(thread)
        compared = zip(DENORMALISED, before, after, strict=True)
        changed = tuple(name for name, old, new in compared if old != new)
        if changed:
            params = {f"new_{n}": getattr(thread, n) for n in changed}
            groups.setdefault(changed, []).append({"thread_id": thread.id, **params})
    for changed, rows in groups.items():
        statement = (
            update(C)
            .where(C.c.id == bindparam("thread_id"))
            .values({name: bindparam(f"new_{name}") for name in changed})
        )
        await session.execute(statement, rows)
