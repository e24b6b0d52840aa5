"""Messages held by quiet hours: sent now on an agent's word, or released when the rules change.

A message the decision held (``held_until``) waits in the outbox as HELD until its time. Two ways
out before then, both on purpose:

- ``send_now``: an agent sends one now, with a reason; the audit trail records who, why, and
  when it would otherwise have left. Its retries and fallbacks are not held again.
- ``release_quiet_held``: quiet hours were turned off (or changed) in the settings; every send
  they held and no longer hold is due now. Sends held by a channel's allowed sending hours stay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.enums import Channel, MessageStatus, MessageType, OutboxStatus, Urgency
from core.domain.tenant_settings import TenantSettings
from core.errors import InvalidInput, NotFound
from core.i18n import t
from core.orchestrator.channels import INTRUSIVE
from core.orchestrator.hours import quiet_release
from core.storage import tables as tb

Out = tb.OutboxRow
#: The reason key of a hold by a channel's allowed sending hours (not quiet hours).
_ALLOWED_HOURS = "reason.quiet.outside_allowed"
MAX_REASON = 200


@dataclass(frozen=True)
class Released:
    """A held send made due: its message and conversation (for the events to publish)."""

    message_id: int | None
    conversation_id: int | None
    held_until: datetime | None


async def send_now(
    session: AsyncSession, tenant_id: int, message_id: int, reason: str, now: datetime
) -> Released:
    """Make a held message due now; quiet hours no longer hold its retries or fallbacks.

    Raises:
        NotFound: no such message for the tenant.
        InvalidInput: no reason given, or the message is not held.
    """
    clean = " ".join((reason or "").split())[:MAX_REASON]
    if not clean:
        raise InvalidInput("reason", reason, t("orchestrator.error.override_reason"))
    message = await session.get(tb.MessageRow, message_id)
    if message is None or message.tenant_id != tenant_id:
        raise NotFound("message", message_id)
    row = await _held_row(session, message_id)
    if row is None or message.status != MessageStatus.HELD:
        raise InvalidInput("message", message_id, t("orchestrator.error.not_held"))
    held_until = row.not_before
    payload = dict(row.payload or {})
    payload.pop("policy", None)  # the worker re-applies quiet hours from it on a retry
    payload["quiet_override"] = clean
    row.payload = payload
    _due(row, message, now)
    message.meta = {
        **(message.meta or {}),
        "quiet_override": {"reason": clean, "at": now.isoformat()},
    }
    return Released(message.id, message.conversation_id, held_until)


async def release_quiet_held(
    session: AsyncSession, tenant_id: int, settings: TenantSettings, now: datetime
) -> list[Released]:
    """Make due every held send that quiet hours, as ``settings`` now say, no longer hold."""
    rows = (
        await session.execute(
            select(Out).where(Out.tenant_id == tenant_id, Out.status == OutboxStatus.HELD)
        )
    ).scalars()
    released: list[Released] = []
    for row in rows.all():
        message = await session.get(tb.MessageRow, row.message_id) if row.message_id else None
        if _held_by_allowed_hours(message) or _still_quiet(row, settings, now):
            continue
        released.append(Released(row.message_id, row.conversation_id, row.not_before))
        _due(row, message, now)
    return released


def _due(row: tb.OutboxRow, message: tb.MessageRow | None, now: datetime) -> None:
    row.status = OutboxStatus.PENDING
    row.not_before = now
    row.updated_at = now
    if message is not None:
        message.status = MessageStatus.QUEUED
        message.meta = {**(message.meta or {}), "scheduled_for": None}


async def _held_row(session: AsyncSession, message_id: int) -> tb.OutboxRow | None:
    query = (
        select(Out)
        .where(Out.message_id == message_id, Out.status == OutboxStatus.HELD)
        .order_by(Out.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


def _held_by_allowed_hours(message: tb.MessageRow | None) -> bool:
    decision = ((message.meta or {}) if message is not None else {}).get("decision") or {}
    return any(r.get("key") == _ALLOWED_HOURS for r in decision.get("reasons") or [])


def _still_quiet(row: tb.OutboxRow, settings: TenantSettings, now: datetime) -> bool:
    """Whether the quiet rules as they are now would still hold the send at ``now``."""
    policy = (row.payload or {}).get("policy") or {}
    channel = Channel(row.channel_type)
    limits = settings.limits.get(channel)
    release = quiet_release(
        now,
        policy.get("timezone") or settings.timezone,
        settings.quiet_hours,
        intrusive=channel in INTRUSIVE,
        urgent=policy.get("urgency") == Urgency.URGENT,
        commercial_sms=channel == Channel.SMS
        and policy.get("message_type") == MessageType.MARKETING,
        allowed=(limits.allowed_start, limits.allowed_end) if limits is not None else None,
    )
    return release is not None
