"""Acting on several conversations at once, and undoing the last such action.

One call per action: every tagged conversation changes in one transaction, each with its own audit
entry (``bulk_<action>``), as the single actions are audited. What each conversation was before
is kept so that ``undo`` puts it back (one level: the last bulk action of this service).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.enums import BulkAction, ConversationStatus, Priority
from core.errors import InvalidInput, NotFound
from core.events import ConversationChanged
from core.service.conversations import MAX_LABELS, _label, _labels_of
from core.storage import tables as t
from core.storage.service_context import ServiceContext
from core.team import audit

C = t.ConversationRow
MAX_BULK = 500
_FIELDS = ("status", "snoozed_until", "closed_at", "priority", "assignee_id")


@dataclass(frozen=True)
class BulkDone:
    """What a bulk action (or its undo) changed."""

    action: BulkAction
    count: int


@dataclass(frozen=True)
class _Snapshot:
    action: BulkAction
    rows: dict[int, dict[str, Any]]
    labels: dict[int, tuple[str, ...]]


class Bulk:
    """Assign, label, snooze, close or prioritise many conversations; undo the last time."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self._last: _Snapshot | None = None

    @property
    def can_undo(self) -> bool:
        """Whether a bulk action is there to undo."""
        return self._last is not None

    async def apply(self, ids: list[int], action: BulkAction, value: Any = None) -> BulkDone:
        """Do ``action`` to every conversation of ``ids``.

        ``value``: the agent id (or None) to assign, the label to add, the moment to snooze
        until (None: until the prospect writes), the priority; nothing to close.

        Raises:
            InvalidInput: no conversation, too many, or a bad value.
            NotFound: a conversation or the agent is not this tenant's.
        """
        action = BulkAction(action)
        wanted = sorted(set(ids))
        if not 1 <= len(wanted) <= MAX_BULK:
            raise InvalidInput("conversations", len(wanted), f"1 to {MAX_BULK} conversations")
        change = self._change(action, value)
        async with self.ctx.write() as (session, events):
            rows = await self._rows(session, wanted)
            if action == BulkAction.ASSIGN and value is not None:
                agent = await session.get(t.AgentRow, value)
                if agent is None or agent.tenant_id != self.ctx.tenant_id:
                    raise NotFound("agent", value)
            labels = await _labels_of(session, wanted)
            snapshot = _Snapshot(
                action, {r.id: {f: getattr(r, f) for f in _FIELDS} for r in rows}, labels
            )
            for row in rows:
                details = await self._one(session, row, change, labels.get(row.id, ()))
                await audit.record(
                    session, self.ctx, f"bulk_{action}", "conversation", row.id, **details
                )
                events.append(ConversationChanged(row.id))
        self._last = snapshot
        return BulkDone(action, len(rows))

    async def undo(self) -> BulkDone:
        """Put back every conversation the last bulk action changed.

        Raises:
            InvalidInput: there is nothing to undo.
        """
        snapshot = self._last
        if snapshot is None:
            raise InvalidInput("undo", None, "a bulk action done before")
        async with self.ctx.write() as (session, events):
            rows = await self._rows(session, sorted(snapshot.rows), missing_ok=True)
            for row in rows:
                for name, before in snapshot.rows[row.id].items():
                    setattr(row, name, before)
                if snapshot.action == BulkAction.LABEL:
                    await _replace_labels(session, row.id, snapshot.labels.get(row.id, ()))
                await audit.record(
                    session, self.ctx, "bulk_undo", "conversation", row.id, undone=snapshot.action
                )
                events.append(ConversationChanged(row.id))
        self._last = None
        return BulkDone(snapshot.action, len(rows))

    def _change(self, action: BulkAction, value: Any) -> dict[str, Any]:
        if action == BulkAction.ASSIGN:
            return {"assignee_id": value}
        if action == BulkAction.PRIORITY:
            return {"priority": Priority(value).rank}
        if action == BulkAction.CLOSE:
            return {
                "status": ConversationStatus.CLOSED,
                "closed_at": self.ctx.now(),
                "snoozed_until": None,
            }
        if action == BulkAction.SNOOZE:
            if value is not None and (not isinstance(value, datetime) or value <= self.ctx.now()):
                raise InvalidInput("snooze until", value, "a moment in the future")
            return {"status": ConversationStatus.SNOOZED, "snoozed_until": value}
        return {"label": _label(value)}

    async def _rows(
        self, session: AsyncSession, ids: list[int], missing_ok: bool = False
    ) -> list[t.ConversationRow]:
        query = select(C).where(C.tenant_id == self.ctx.tenant_id, C.id.in_(ids))
        rows = list((await session.execute(query)).scalars())
        if not missing_ok and len(rows) != len(ids):
            missing = sorted(set(ids) - {r.id for r in rows})
            raise NotFound("conversation", missing[0])
        return rows

    async def _one(
        self,
        session: AsyncSession,
        row: t.ConversationRow,
        change: dict[str, Any],
        labels: tuple[str, ...],
    ) -> dict[str, Any]:
        if "label" in change:
            label = change["label"]
            if label in labels:
                return {}
            if len(labels) >= MAX_LABELS:
                raise InvalidInput("labels", label, f"at most {MAX_LABELS} labels")
            session.add(t.ConversationLabelRow(conversation_id=row.id, label=label))
            return {"labels": [list(labels), sorted({*labels, label})]}
        details = {}
        for name, value in change.items():
            before = getattr(row, name)
            if before != value:
                details[name] = [_json(before), _json(value)]
            setattr(row, name, value)
        return details


async def _replace_labels(session: AsyncSession, conversation_id: int, labels: tuple[str, ...]):
    await session.execute(
        delete(t.ConversationLabelRow).where(
            t.ConversationLabelRow.conversation_id == conversation_id
        )
    )
    session.add_all(
        t.ConversationLabelRow(conversation_id=conversation_id, label=x) for x in labels
    )


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
