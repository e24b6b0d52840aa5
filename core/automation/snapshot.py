"""What the automation policy reads about a batch of automated requests, read set-based once.

Checking one request reads the tenant's settings, the conversation's earlier answers to the
same intent, its open pause and last resume, and the prospect's automated messages of the last
hour: four queries and a settings parse. A batch (a pipeline ``submit`` of many requests: an
ingest transaction's out-of-hours replies) reads them for all its conversations and prospects
in four queries; the snapshot is then kept up to date as the batch's verdicts are recorded, so
that a later request of the batch sees the earlier ones exactly as the per-request queries
would (they read the session's own writes).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.automation.policy import (
    AutomatedSend,
    Checked,
    Outcome,
    fields_of,
    intent_key,
    tenant_settings,
    window_start,
)
from core.domain.tenant_settings import TenantSettings
from core.storage import tables as t

Log = t.AutomationLogRow
P = t.AutomationPauseRow


@dataclass
class Snapshot:
    """The policy's reads for a batch's conversations and prospects (one tenant)."""

    tenant_id: int
    settings: TenantSettings
    conversations: frozenset[int]
    prospects: frozenset[int]
    #: (conversation id, intent key) -> when it was answered (sent or held).
    answered: dict[tuple[int, str], list[datetime]] = field(default_factory=dict)
    #: Conversations whose automation is paused now.
    paused: set[int] = field(default_factory=set)
    #: Conversation id -> when an agent last resumed its automation.
    resumed: dict[int, datetime] = field(default_factory=dict)
    #: Prospect id -> when automated messages were sent to them (the last hour).
    sent: dict[int, list[datetime]] = field(default_factory=dict)

    def covers(self, send: AutomatedSend) -> bool:
        """Whether ``send`` was among the requests the snapshot was read for."""
        return (
            send.tenant_id == self.tenant_id
            and (send.conversation_id is None or send.conversation_id in self.conversations)
            and (send.prospect_id is None or send.prospect_id in self.prospects)
        )

    def repeated(self, send: AutomatedSend, key: str, now: datetime) -> bool:
        """As ``policy._repeated``: the intent was answered in the conversation's window."""
        if send.conversation_id is None or not send.once:
            return False
        since = window_start(send.intent, now, self.settings)
        return any(at > since for at in self.answered.get((send.conversation_id, key), ()))

    def sent_in_last_hour(self, send: AutomatedSend, now: datetime) -> int:
        """As ``policy.sent_in_last_hour``."""
        if send.prospect_id is None:
            return 0
        since = now - timedelta(hours=1)
        resumed = self.resumed.get(send.conversation_id) if send.conversation_id else None
        if resumed is not None and resumed > since:
            since = resumed
        return sum(1 for at in self.sent.get(send.prospect_id, ()) if at > since)

    def record(self, send: AutomatedSend, key: str, outcome: Outcome, now: datetime) -> None:
        """Note a verdict written to the ledger (as the next request's queries would see it)."""
        if outcome in (Outcome.SENT, Outcome.HELD) and send.conversation_id is not None:
            self.answered.setdefault((send.conversation_id, key), []).append(now)
        if outcome == Outcome.SENT and send.prospect_id is not None:
            self.sent.setdefault(send.prospect_id, []).append(now)


async def read_snapshot(
    session: AsyncSession, requests: Sequence[AutomatedSend | Checked], now: datetime
) -> Snapshot | None:
    """The policy's reads for ``requests``, in four queries (None: they are of several
    tenants, or none)."""
    sends = [fields_of(request) for request in requests]
    tenants = {send.tenant_id for send in sends}
    if len(tenants) != 1:
        return None
    (tenant_id,) = tenants
    settings = await tenant_settings(session, tenant_id)
    conversations = frozenset(s.conversation_id for s in sends if s.conversation_id is not None)
    prospects = frozenset(s.prospect_id for s in sends if s.prospect_id is not None)
    snapshot = Snapshot(tenant_id, settings, conversations, prospects)
    if conversations:
        since = min(window_start(s.intent, now, settings) for s in sends)
        await _answered(session, snapshot, since)
        await _pauses(session, snapshot)
    if prospects:
        await _sent(session, snapshot, now - timedelta(hours=1))
    return snapshot


async def _answered(session: AsyncSession, snapshot: Snapshot, since: datetime) -> None:
    query = select(Log.conversation_id, Log.intent, Log.created_at).where(
        Log.conversation_id.in_(snapshot.conversations),
        Log.outcome.in_((Outcome.SENT, Outcome.HELD)),
        Log.created_at > since,
    )
    answered: defaultdict[tuple[int, str], list[datetime]] = defaultdict(list)
    for conversation_id, intent, at in (await session.execute(query)).all():
        if conversation_id is not None:
            answered[(conversation_id, intent)].append(at)
    snapshot.answered = dict(answered)


async def _pauses(session: AsyncSession, snapshot: Snapshot) -> None:
    open_ = select(P.conversation_id).where(
        P.conversation_id.in_(snapshot.conversations), P.resumed_at.is_(None)
    )
    snapshot.paused = set((await session.execute(open_)).scalars())
    last = (
        select(P.conversation_id, func.max(P.resumed_at))
        .where(P.conversation_id.in_(snapshot.conversations), P.resumed_at.is_not(None))
        .group_by(P.conversation_id)
    )
    snapshot.resumed = {c: at for c, at in (await session.execute(last)).all() if at is not None}


async def _sent(session: AsyncSession, snapshot: Snapshot, since: datetime) -> None:
    query = select(Log.prospect_id, Log.created_at).where(
        Log.tenant_id == snapshot.tenant_id,
        Log.prospect_id.in_(snapshot.prospects),
        Log.outcome == Outcome.SENT,
        Log.created_at > since,
    )
    sent: defaultdict[int, list[datetime]] = defaultdict(list)
    for prospect_id, at in (await session.execute(query)).all():
        if prospect_id is not None:
            sent[prospect_id].append(at)
    snapshot.sent = dict(sent)


__all__ = ["Snapshot", "intent_key", "read_snapshot"]
