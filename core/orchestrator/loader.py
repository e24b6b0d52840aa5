"""Loading a ``RoutingContext`` from the database: the I/O half of a decision.

``TenantInputs`` holds what is the same for every prospect (settings, channels, this month's
spending) so that a broadcast loads it once; ``load_context`` adds one prospect's facts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.analytics.engagement import load_engagement
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
    """What outgoing messages cost this month (tenant's calendar)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(M.cost_micros), 0)).where(
            M.tenant_id == tenant_id,
            M.direction == Direction.OUTBOUND,
            M.created_at >= month_start(now, timezone),
        )
    )
    return from_micros(int(total or 0)) or Decimal("0")


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
) -> RoutingContext:
    """Everything ``decide`` needs about ``prospect`` at ``now``."""
    settings = inputs.settings
    wa_last = await session.scalar(
        select(func.max(M.created_at)).where(
            M.prospect_id == prospect.id,
            M.channel_type == Channel.WHATSAPP,
            M.direction == Direction.INBOUND,
            M.kind == MessageKind.MESSAGE,
        )
    )
    last_inbound = Channel(conversation.channel_type) if conversation is not None else None
    engagement = {}
    if inputs.orchestrator.enable_analytics and inputs.orchestrator.track_engagement:
        engagement = await load_engagement(session, prospect.id)
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
        unreachable=await unreachable_channels(session, prospect.id),
        allowed=allowed,
        timezone=prospect.timezone or settings.timezone,
        quiet_hours=settings.quiet_hours,
        limits=settings.limits,
        sent_today=await _sent_today(session, inputs, now),
        prices=settings.prices,
        settings=inputs.orchestrator,
        last_inbound_channel=last_inbound,
        whatsapp_last_inbound_at=wa_last,
        whatsapp_template_approved=await _approved_whatsapp(session, template_id),
        engagement=engagement,
        monthly_budget=inputs.monthly_budget,
        spent_this_month=inputs.spent_this_month,
    )


async def unreachable_channels(session: AsyncSession, prospect_id: int) -> frozenset[Channel]:
    """Channels whose latest attempt to the prospect failed with an "address will not work" code."""
    rows = await session.execute(
        select(M.meta)
        .where(M.prospect_id == prospect_id, M.direction == Direction.OUTBOUND)
        .order_by(M.id.desc())
        .limit(_RECENT_OUTBOUND)
    )
    verdict: dict[str, bool] = {}
    for (meta,) in rows:
        for attempt in reversed((meta or {}).get("attempts") or []):
            channel = attempt.get("channel")
            if channel in verdict or attempt.get("outcome") not in ("sent", "permanent"):
                continue
            verdict[channel] = attempt.get("code") in UNREACHABLE_CODES
    known = {c.value for c in Channel}
    return frozenset(Channel(c) for c, dead in verdict.items() if dead and c in known)


def _channel(value: str | None) -> Channel | None:
    return Channel(value) if value else None


async def _sent_today(
    session: AsyncSession, inputs: TenantInputs, now: datetime
) -> dict[Channel, int]:
    limited = [c for c, lim in inputs.settings.limits.items() if lim.daily_limit is not None]
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
    return replace(inputs, spent_this_month=inputs.spent_this_month + extra)
