"""Counting, per assigned prospect, what an A/B metric looks at, from the database.

A prospect's test messages are the message sent for the test (``ab_assignments.message_id``) or,
when the test did not send one itself, the prospect's outbound messages during the test.

- confirmation: an appointment of the prospect confirmed (or done) during the test, at or after
  its test message was created (``confirmed_at``; a confirmation made before the message cannot
  be its effect), as ``core.analytics.aggregate`` credits conversions;
- response: an inbound message from the prospect during the test;
- open: a test message with ``read_at`` (an email open is recorded as READ by ingest);
- click: a test message with ``meta["clicked_at"]``;
- cost: the test messages' ``cost_micros``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.abtests.model import Metric
from core.analytics.aggregate import CONFIRMED
from core.domain.enums import Direction, MessageKind
from core.storage import tables as t

M, A = t.MessageRow, t.AppointmentRow


@dataclass
class Outcome:
    """What one prospect did during the test."""

    confirmed: bool = False
    responded: bool = False
    opened: bool = False
    clicked: bool = False
    cost_micros: int = 0

    def success(self, metric: Metric) -> bool:
        """Whether this prospect counts as a success for ``metric``."""
        match metric:
            case Metric.RESPONSE_RATE:
                return self.responded
            case Metric.OPEN_RATE:
                return self.opened
            case Metric.CLICK_RATE:
                return self.clicked
            case _:
                return self.confirmed


async def outcomes(
    session: AsyncSession,
    assignments: list[t.ABAssignmentRow],
    start: datetime,
    end: datetime,
) -> dict[int, Outcome]:
    """Each assigned prospect's outcome between ``start`` and ``end``."""
    prospects = [a.prospect_id for a in assignments]
    result = {pid: Outcome() for pid in prospects}
    if not prospects:
        return result
    await _confirmations(session, assignments, start, end, result)
    await _responses(session, prospects, start, end, result)
    await _engagement(session, assignments, start, end, result)
    return result


async def _confirmations(session, assignments, start, end, result) -> None:
    since = {a.prospect_id: start for a in assignments}
    sent = {a.message_id: a.prospect_id for a in assignments if a.message_id is not None}
    if sent:
        query = select(M.id, M.created_at).where(M.id.in_(list(sent)))
        for message_id, created_at in (await session.execute(query)).all():
            prospect_id = sent[message_id]
            since[prospect_id] = max(since[prospect_id], created_at)
    confirmed = select(A.prospect_id, A.confirmed_at).where(
        A.prospect_id.in_(list(since)),
        A.status.in_(CONFIRMED),
        A.confirmed_at >= start,
        A.confirmed_at <= end,
    )
    for prospect_id, confirmed_at in (await session.execute(confirmed)).all():
        if confirmed_at >= since[prospect_id]:
            result[prospect_id].confirmed = True


async def _responses(session, prospects, start, end, result) -> None:
    query = select(M.prospect_id).where(
        M.prospect_id.in_(prospects),
        M.direction == Direction.INBOUND,
        M.kind.in_([MessageKind.MESSAGE, MessageKind.CALL]),
        M.created_at >= start,
        M.created_at <= end,
    )
    for (prospect_id,) in (await session.execute(query)).all():
        result[prospect_id].responded = True


async def _engagement(session, assignments, start, end, result) -> None:
    sent_ids = {a.message_id: a.prospect_id for a in assignments if a.message_id is not None}
    without = [a.prospect_id for a in assignments if a.message_id is None]
    rows: list[t.MessageRow] = []
    if sent_ids:
        rows += (await session.execute(select(M).where(M.id.in_(list(sent_ids))))).scalars()
    if without:
        query = select(M).where(
            M.prospect_id.in_(without),
            M.direction == Direction.OUTBOUND,
            M.kind == MessageKind.MESSAGE,
            M.created_at >= start,
            M.created_at <= end,
        )
        rows += (await session.execute(query)).scalars()
    for row in rows:
        outcome = result[row.prospect_id]
        outcome.opened |= row.read_at is not None
        outcome.clicked |= bool((row.meta or {}).get("clicked_at"))
        outcome.cost_micros += row.cost_micros or 0
