"""Loading a ``RoutingContext`` from the database: the I/O half of a decision.

``TenantInputs`` holds what is the same for every prospect (settings, channels, this month's
spending) so that a broadcast loads it once; ``load_context`` adds one prospect's facts, and
``load_contexts`` those of many prospects at once, in a few set-based queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import String, cast, func, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import NullType

from core.analytics.engagement import (
    COUNTED_KINDS,
    HISTORY_LIMIT,
    SENT,
    channel_of,
    engagement_from_spans,
    load_engagement,
)
from core.config.settings import OrchestratorSettings
from core.domain.enums import (
    ApprovalStatus,
    Channel,
    Direction,
    MessageKind,
    MessageType,
    Urgency,
)
from core.domain.tenant_settings import TenantSettings
from core.orchestrator.context import RoutingContext
from core.orchestrator.hours import zone
from core.storage import tables as t
from core.storage.convert import from_micros

M = t.MessageRow

#: Provider codes meaning "this address will not work" (Twilio invalid / not mobile / cannot
#: route / unsubscribed, WhatsApp invalid address, Meta undeliverable): the channel is treated
#: as unreachable for the prospect until a later send on it succeeds.
UNREACHABLE_CODES = frozenset({"21211", "21614", "21612", "21610", "63003", "131026"})
_RECENT_OUTBOUND = 20
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class TenantInputs:
    """The tenant's side of every decision."""

    tenant_id: int
    settings: TenantSettings
    orchestrator: OrchestratorSettings
    enabled: frozenset[Channel]
    spent_this_month: Decimal

    @property
    def monthly_budget(self) -> Decimal:
        """The tenant's monthly budget (its settings override the process default)."""
        return self.settings.monthly_budget


async def load_tenant_inputs(
    session: AsyncSession, tenant_id: int, orchestrator: OrchestratorSettings, now: datetime
) -> TenantInputs:
    """Settings, enabled channels and this month's spending of ``tenant_id``."""
    tenant = await session.get(t.TenantRow, tenant_id)
    raw = TenantSettings.model_validate((tenant.settings if tenant else None) or {})
    settings = with_defaults(raw, orchestrator)
    rows = await session.execute(
        select(t.ChannelRow.channel_type).where(
            t.ChannelRow.tenant_id == tenant_id, t.ChannelRow.enabled.is_(True)
        )
    )
    enabled = frozenset(Channel(c) for (c,) in rows)
    spent = await month_spending(session, tenant_id, settings.timezone, now)
    return TenantInputs(tenant_id, settings, orchestrator, enabled, spent)


def quiet_hours_source(settings: TenantSettings, orchestrator: OrchestratorSettings) -> str:
    """Where a tenant's quiet hours come from: ``tenant`` (its own settings), ``environment``
    (``ORCHESTRATOR_QUIET_HOURS_START/END``) or ``default`` (22:00–08:00)."""
    own = "quiet_hours" in settings.model_fields_set and bool(
        {"start", "end"} & settings.quiet_hours.model_fields_set
    )
    if own:
        return "tenant"
    if {"quiet_hours_start", "quiet_hours_end"} & orchestrator.model_fields_set:
        return "environment"
    return "default"


def with_defaults(settings: TenantSettings, orchestrator: OrchestratorSettings) -> TenantSettings:
    """``settings`` with the process defaults for what the tenant did not set: the quiet hours
    are ``ORCHESTRATOR_QUIET_HOURS_START/END`` unless the tenant chose its own."""
    if quiet_hours_source(settings, orchestrator) == "tenant":
        return settings
    quiet = settings.quiet_hours.model_copy(
        update={"start": orchestrator.quiet_hours_start, "end": orchestrator.quiet_hours_end}
    )
    return settings.model_copy(update={"quiet_hours": quiet})


def month_start(now: datetime, timezone: str) -> datetime:
    """The first instant of ``now``'s month in ``timezone``."""
    local = now.astimezone(zone(timezone))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def month_spending(
    session: AsyncSession, tenant_id: int, timezone: str, now: datetime
) -> Decimal:
    """What outgoing messages cost this month (tenant's calendar).

    The whole UTC days come from the running totals (``spend_daily``, kept by triggers); only
    the part of the first day after the local month start is summed over the messages.
    """
    start = month_start(now, timezone)
    first_full_day = -(-int(start.timestamp()) // SECONDS_PER_DAY)  # ceiling
    boundary = datetime.fromtimestamp(first_full_day * SECONDS_PER_DAY, UTC)
    days = await session.scalar(
        select(func.coalesce(func.sum(t.SpendDailyRow.spent_micros), 0)).where(
            t.SpendDailyRow.tenant_id == tenant_id, t.SpendDailyRow.day >= first_full_day
        )
    )
    partial = 0
    if boundary > start:
        partial = await session.scalar(
            select(func.coalesce(func.sum(M.cost_micros), 0)).where(
                M.tenant_id == tenant_id,
                M.direction == Direction.OUTBOUND,
                M.created_at >= start,
                M.created_at < boundary,
            )
        )
    return from_micros(int(days or 0) + int(partial or 0)) or Decimal("0")


def contacts_of(prospect: t.ProspectRow) -> dict[Channel, str]:
    """The prospect's identifier on each channel they can be reached on."""
    found: dict[Channel, str] = {}
    if prospect.phone:
        found[Channel.SMS] = prospect.phone
        found[Channel.VOICE] = prospect.phone
    if prospect.email:
        found[Channel.EMAIL] = prospect.email
    if prospect.whatsapp:
        found[Channel.WHATSAPP] = prospect.whatsapp
    if prospect.telegram_chat_id is not None:
        found[Channel.TELEGRAM] = str(prospect.telegram_chat_id)
    return found


async def load_context(
    session: AsyncSession,
    inputs: TenantInputs,
    prospect: t.ProspectRow,
    now: datetime,
    *,
    message_type: MessageType = MessageType.CONVERSATION,
    urgency: Urgency = Urgency.NORMAL,
    conversation: t.ConversationRow | None = None,
    template_id: int | None = None,
    allowed: frozenset[Channel] | None = None,
    preferred: Channel | None = None,
    facts: ProspectFacts | None = None,
    shared: ChunkFacts | None = None,
) -> RoutingContext:
    """Everything ``decide`` needs about ``prospect`` at ``now``.

    ``facts`` are the prospect's history facts when already loaded for a batch (``load_facts``),
    ``shared`` what the batch's prospects share (``chunk_facts``).
    """
    settings = inputs.settings
    if facts is None:
        facts = await _facts_of(session, inputs, prospect.id)
    if shared is None:
        shared = await chunk_facts(session, inputs, now, template_id)
    return RoutingContext(
        now=now,
        contacts=contacts_of(prospect),
        enabled=inputs.enabled,
        prospect_id=prospect.id,
        prospect_name=prospect.display_name,
        conversation_id=conversation.id if conversation is not None else None,
        message_type=message_type,
        urgency=urgency,
        preferred_channel=preferred or _channel(prospect.preferred_channel),
        opted_out=frozenset(Channel(c) for c in prospect.opted_out_channels or ()),
        unreachable=facts.unreachable,
        allowed=allowed,
        timezone=prospect.timezone or settings.timezone,
        quiet_hours=settings.quiet_hours,
        limits=settings.limits,
        sent_today=shared.sent_today,
        prices=settings.prices,
        settings=inputs.orchestrator,
        last_inbound_channel=(
            Channel(conversation.channel_type) if conversation is not None else None
        ),
        whatsapp_last_inbound_at=facts.whatsapp_last_inbound_at,
        whatsapp_template_approved=shared.template_approved,
        engagement=facts.engagement,
        monthly_budget=inputs.monthly_budget,
        spent_this_month=inputs.spent_this_month,
    )


@dataclass(frozen=True, slots=True)
class ProspectFacts:
    """What a prospect's history says for routing: the WhatsApp window's last inbound message,
    engagement per channel, channels whose address does not work."""

    whatsapp_last_inbound_at: datetime | None
    engagement: dict[Channel, Any]
    unreachable: frozenset[Channel]


@dataclass(frozen=True, slots=True)
class ChunkFacts:
    """What every prospect of a batch shares: the tenant's sends today on channels with a daily
    limit, and whether the message's template is an approved WhatsApp one."""

    sent_today: dict[Channel, int]
    template_approved: bool


async def chunk_facts(
    session: AsyncSession, inputs: TenantInputs, now: datetime, template_id: int | None
) -> ChunkFacts:
    """``ChunkFacts`` at ``now``: two queries at most, once per batch instead of per prospect."""
    return ChunkFacts(
        await _sent_today(session, inputs, now), await _approved_whatsapp(session, template_id)
    )


def _tracks_engagement(inputs: TenantInputs) -> bool:
    return bool(inputs.orchestrator.enable_analytics and inputs.orchestrator.track_engagement)


async def _facts_of(session: AsyncSession, inputs: TenantInputs, prospect_id: int) -> ProspectFacts:
    wa_last = await session.scalar(
        select(func.max(M.created_at)).where(
            M.prospect_id == prospect_id,
            M.channel_type == Channel.WHATSAPP,
            M.direction == Direction.INBOUND,
            M.kind == MessageKind.MESSAGE,
        )
    )
    engagement = {}
    if _tracks_engagement(inputs):
        engagement = await load_engagement(session, prospect_id)
    return ProspectFacts(wa_last, engagement, await unreachable_channels(session, prospect_id))


async def load_facts(
    session: AsyncSession, inputs: TenantInputs, prospect_ids: Sequence[int]
) -> dict[int, ProspectFacts]:
    """``ProspectFacts`` of many prospects in three set-based queries (a batch's)."""
    ids = list(prospect_ids)
    if not ids:
        return {}
    wa_last = await _whatsapp_last_inbound(session, ids)
    engagement: dict[int, dict[Channel, Any]] = {}
    if _tracks_engagement(inputs):
        engagement = await load_engagements(session, ids)
    unreachable = await unreachable_by_prospect(session, ids)
    return {
        pid: ProspectFacts(
            wa_last.get(pid), engagement.get(pid, {}), unreachable.get(pid, frozenset())
        )
        for pid in ids
    }


async def unreachable_channels(session: AsyncSession, prospect_id: int) -> frozenset[Channel]:
    """Channels whose latest attempt to the prospect failed with an "address will not work" code."""
    rows = await session.execute(
        select(M.meta)
        .where(M.prospect_id == prospect_id, M.direction == Direction.OUTBOUND)
        .order_by(M.id.desc())
        .limit(_RECENT_OUTBOUND)
    )
    return _dead_channels(meta for (meta,) in rows)


def _channel(value: str | None) -> Channel | None:
    return Channel(value) if value else None


def daily_limited(inputs: TenantInputs) -> list[Channel]:
    """The tenant's channels with a daily limit (whose sends today ``ChunkFacts`` counts)."""
    return [c for c, lim in inputs.settings.limits.items() if lim.daily_limit is not None]


async def _sent_today(
    session: AsyncSession, inputs: TenantInputs, now: datetime
) -> dict[Channel, int]:
    limited = daily_limited(inputs)
    if not limited:
        return {}
    local = now.astimezone(zone(inputs.settings.timezone))
    start = datetime.combine(local.date(), time(0), tzinfo=local.tzinfo)
    rows = await session.execute(
        select(M.channel_type, func.count())
        .where(
            M.tenant_id == inputs.tenant_id,
            M.direction == Direction.OUTBOUND,
            M.kind == MessageKind.MESSAGE,
            M.created_at >= start,
            M.channel_type.in_(limited),
        )
        .group_by(M.channel_type)
    )
    return {Channel(c): n for c, n in rows}


async def _approved_whatsapp(session: AsyncSession, template_id: int | None) -> bool:
    if template_id is None:
        return False
    row = await session.get(t.MessageTemplateRow, template_id)
    return bool(
        row is not None
        and row.channel_type == Channel.WHATSAPP
        and row.approval_status == ApprovalStatus.APPROVED
    )


def with_spending(inputs: TenantInputs, extra: Decimal) -> TenantInputs:
    """``inputs`` after ``extra`` more was committed (a broadcast's running total)."""
    # Built directly: ``dataclasses.replace`` walks the fields by name, once per prospect.
    return TenantInputs(
        inputs.tenant_id,
        inputs.settings,
        inputs.orchestrator,
        inputs.enabled,
        inputs.spent_this_month + extra,
    )


async def load_contexts(
    session: AsyncSession,
    inputs: TenantInputs,
    prospects: Sequence[t.ProspectRow],
    now: datetime,
    *,
    message_type: MessageType = MessageType.CONVERSATION,
    urgency: Urgency = Urgency.NORMAL,
    template_id: int | None = None,
    allowed: frozenset[Channel] | None = None,
) -> dict[int, RoutingContext]:
    """``load_context`` for many prospects at once (a chunk), by prospect id.

    Three set-based queries for the prospects' history (WhatsApp window, engagement history,
    unreachable channels) instead of three per prospect; no conversation.
    """
    facts = await load_facts(session, inputs, [p.id for p in prospects])
    shared = await chunk_facts(session, inputs, now, template_id)
    return {
        p.id: await load_context(
            session,
            inputs,
            p,
            now,
            message_type=message_type,
            urgency=urgency,
            template_id=template_id,
            allowed=allowed,
            facts=facts[p.id],
            shared=shared,
        )
        for p in prospects
    }


async def load_contexts_by_id(
    session: AsyncSession,
    inputs: TenantInputs,
    prospect_ids: Sequence[int],
    now: datetime,
    **options: Any,
) -> dict[int, RoutingContext]:
    """``load_contexts`` for the tenant's prospects among ``prospect_ids`` (others left out)."""
    rows = await session.execute(
        select(t.ProspectRow).where(
            t.ProspectRow.id.in_(list(prospect_ids)), t.ProspectRow.tenant_id == inputs.tenant_id
        )
    )
    return await load_contexts(session, inputs, list(rows.scalars()), now, **options)


async def _whatsapp_last_inbound(session: AsyncSession, ids: list[int]) -> dict[int, datetime]:
    rows = await session.execute(
        select(M.prospect_id, func.max(M.created_at))
        .where(
            M.prospect_id.in_(ids),
            M.channel_type == Channel.WHATSAPP,
            M.direction == Direction.INBOUND,
            M.kind == MessageKind.MESSAGE,
        )
        .group_by(M.prospect_id)
    )
    return {pid: at for pid, at in rows if at is not None}


async def load_engagements(
    session: AsyncSession, ids: list[int], limit: int = HISTORY_LIMIT
) -> dict[int, dict[Channel, Any]]:
    """``load_engagement`` of many prospects in one query (prospects without a message sent
    are left out).

    The database puts each thread (a prospect on a channel) in ``engagement_from_history``'s
    order (by creation, ties newest first); here one pass counts the messages sent and pairs
    each answer with the outgoing message before it. Only those pairs' times are converted.
    A prospect with more than ``limit`` counted messages is read again with
    ``load_engagement`` (its latest ``limit``); window functions would do it in the query,
    but cost SQLite several times the whole pass.
    """
    if not ids:
        return {}
    counted = (
        M.prospect_id.in_(ids),
        M.kind.in_(COUNTED_KINDS),
        or_(M.direction == Direction.INBOUND, M.status.in_(SENT)),
    )
    sent_at = func.coalesce(M.sent_at, M.created_at)
    query = (
        select(
            M.prospect_id,
            M.channel_type,
            M.direction,
            type_coerce(M.created_at, _RAW),
            type_coerce(sent_at, _RAW),
        )
        .where(*counted)
        .order_by(M.prospect_id, M.channel_type, M.created_at, M.id.desc())
    )
    rows = await session.execute(query)
    history, heavy = _threads(rows, limit)
    found: dict[int, dict[Channel, Any]] = {}
    for pid, (sent, pairs) in history.items():
        spans = {c: [_stamp(at) - _stamp(since) for at, since in p] for c, p in pairs.items()}
        found[pid] = engagement_from_spans(sent, spans)
    for pid in heavy:
        found[pid] = await load_engagement(session, pid, limit)
    return {pid: stats for pid, stats in found.items() if stats}


#: Values read as the driver gives them (no conversion per row).
_RAW = NullType()
_Pairs = dict[Channel, list[tuple[Any, Any]]]


def _threads(
    rows: Iterable[Any], limit: int
) -> tuple[dict[int, tuple[dict[Channel, int], _Pairs]], set[int]]:
    """Messages sent and (answer, outgoing sent) pairs per prospect and channel, from rows in
    thread order; and the prospects with more than ``limit`` rows."""
    history: dict[int, tuple[dict[Channel, int], _Pairs]] = {}
    counts: dict[int, int] = {}
    thread: tuple[int, str] | None = None
    waiting: Any = None
    sent: dict[Channel, int] = {}
    pairs: _Pairs = {}
    for pid, value, direction, at, since in rows:
        counts[pid] = counts.get(pid, 0) + 1
        if (pid, value) != thread:
            thread, waiting = (pid, value), None
            sent, pairs = history.setdefault(pid, ({}, {}))
            channel = channel_of(value)
        if direction == Direction.OUTBOUND:
            sent[channel] = sent.get(channel, 0) + 1
            waiting = since
        elif waiting is not None:
            pairs.setdefault(channel, []).append((at, waiting))
            waiting = None
    return history, {pid for pid, n in counts.items() if n > limit}


_NAIVE_EPOCH = datetime(1970, 1, 1)
_parse = datetime.fromisoformat


def _stamp(value: Any) -> float:
    """The ``timestamp()`` of a raw stored time as reading the column gives it
    (``UTCDateTime``: aware, in UTC), without SQLAlchemy's per-value wrappers or an aware
    datetime: SQLite stores naive UTC text, PostgreSQL's driver gives datetimes. A naive time's
    microseconds since the epoch over 10**6, which is how ``timestamp()`` works out an aware
    one: the same float to the bit."""
    if value.__class__ is str:
        value = _parse(value)
    if value.tzinfo is None:
        return (value - _NAIVE_EPOCH).total_seconds()
    return float(value.timestamp())


async def unreachable_by_prospect(
    session: AsyncSession, ids: list[int]
) -> dict[int, frozenset[Channel]]:
    """``unreachable_channels`` of many prospects (those with none are left out).

    The database first finds the prospects with an outgoing message whose metadata mentions an
    unreachable code (a text match, no decoding); only their latest outgoing messages are read
    and decoded: for the others no attempt can have failed that way.
    """
    if not ids:
        return {}
    text = cast(M.meta, String)
    mentions = or_(*(text.contains(code, autoescape=True) for code in sorted(UNREACHABLE_CODES)))
    suspects = list(
        (
            await session.execute(
                select(M.prospect_id)
                .where(M.prospect_id.in_(ids), M.direction == Direction.OUTBOUND, mentions)
                .distinct()
            )
        ).scalars()
    )
    if not suspects:
        return {}
    rank = func.row_number().over(partition_by=M.prospect_id, order_by=M.id.desc())
    ranked = (
        select(M.prospect_id, M.id, M.meta, rank.label("rank"))
        .where(M.prospect_id.in_(suspects), M.direction == Direction.OUTBOUND)
        .subquery()
    )
    query = (
        select(ranked.c.prospect_id, ranked.c.meta)
        .where(ranked.c.rank <= _RECENT_OUTBOUND)
        .order_by(ranked.c.prospect_id, ranked.c.id.desc())
    )
    metas: dict[int, list[Any]] = {}
    for pid, meta in await session.execute(query):
        metas.setdefault(pid, []).append(meta)
    dead = {pid: _dead_channels(found) for pid, found in metas.items()}
    return {pid: channels for pid, channels in dead.items() if channels}


def _dead_channels(metas: Iterable[Any]) -> frozenset[Channel]:
    """Channels whose latest attempt (``metas`` newest first) failed with an unreachable code."""
    verdict: dict[str, bool] = {}
    for meta in metas:
        for attempt in reversed((meta or {}).get("attempts") or []):
            channel = attempt.get("channel")
            if channel in verdict or attempt.get("outcome") not in ("sent", "permanent"):
                continue
            verdict[channel] = attempt.get("code") in UNREACHABLE_CODES
    known = {c.value for c in Channel}
    return frozenset(Channel(c) for c, dead in verdict.items() if dead and c in known)


async def latest_conversations(
    session: AsyncSession, prospect_ids: list[int]
) -> dict[tuple[int, Channel], t.ConversationRow]:
    """Each prospect's most recent conversation per channel (``find_conversation`` for many)."""
    if not prospect_ids:
        return {}
    C = t.ConversationRow
    rows = await session.execute(select(C).where(C.prospect_id.in_(prospect_ids)).order_by(C.id))
    return {(c.prospect_id, Channel(c.channel_type)): c for c in rows.scalars()}
