"""Putting a send into the outbox: the thread message and its outbox row, in the caller's
transaction, so that either both exist or neither does."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.channels.segments import count_segments
from core.domain.decision import Decision
from core.domain.enums import (
    DEFAULT_PROVIDER,
    Channel,
    Direction,
    MessageKind,
    MessageStatus,
    OutboxStatus,
    SenderType,
)
from core.orchestrator.channels import DELIVERY_SECONDS
from core.storage import tables as t
from core.storage.timeline import append_message


def new_key() -> str:
    """A fresh idempotency key."""
    return uuid.uuid4().hex


def fallback_chain(decision: Decision, now: datetime) -> list[dict[str, Any]]:
    """The decision's alternatives as the row's fallback chain, with their own hold if any."""
    chain = []
    for alt in decision.alternatives:
        wait = alt.estimated_delivery_seconds - DELIVERY_SECONDS.get(alt.channel, 0.0)
        hold = now + timedelta(seconds=wait) if wait > 1 else None
        chain.append(
            {"channel": str(alt.channel), "not_before": hold.isoformat() if hold else None}
        )
    return chain


def decision_record(decision: Decision) -> dict[str, Any]:
    """The decision as stored on the row and the message (JSON)."""
    return decision.model_dump(mode="json")


async def enqueue(
    session: AsyncSession,
    conversation: t.ConversationRow,
    decision: Decision,
    payload: dict[str, Any],
    now: datetime,
    *,
    send_at: datetime | None = None,
    expires_at: datetime | None = None,
    sender_type: SenderType = SenderType.AGENT,
    sender_id: int | None = None,
    providers: dict[Channel, str] | None = None,
    key: str | None = None,
    purpose: str = "reply",
    kind: MessageKind = MessageKind.MESSAGE,
    appointment_id: int | None = None,
    broadcast_id: str | None = None,
    campaign_enrolment_id: int | None = None,
    meta: dict[str, Any] | None = None,
) -> tuple[t.MessageRow, t.OutboxRow]:
    """Append the outgoing message to ``conversation`` and queue it; nothing is sent here.

    The message is SCHEDULED (``send_at`` in the future), HELD (quiet hours) or QUEUED.
    """
    assert decision.channel is not None, "enqueue needs a decision with a channel"
    channel = decision.channel
    not_before = max(d for d in (send_at, decision.held_until, now) if d is not None)
    if send_at is not None and send_at > now:
        status, row_status = MessageStatus.SCHEDULED, OutboxStatus.PENDING
    elif decision.held_until is not None and decision.held_until > now:
        status, row_status = MessageStatus.HELD, OutboxStatus.HELD
    else:
        status, row_status = MessageStatus.QUEUED, OutboxStatus.PENDING
    provider = (providers or {}).get(channel) or DEFAULT_PROVIDER[channel]
    text = payload.get("text") or ""
    message = await append_message(
        session,
        conversation,
        direction=Direction.OUTBOUND,
        sender_type=sender_type,
        sender_id=sender_id,
        kind=kind,
        channel=channel,
        content=text,
        subject=payload.get("subject"),
        status=status,
        provider=provider,
        segments=count_segments(text).segments if channel == Channel.SMS else None,
        meta={
            **(meta or {}),
            "decision": decision_record(decision),
            "attempts": [],
            "scheduled_for": not_before.isoformat() if not_before > now else None,
        },
        created_at=now,
    )
    row = t.OutboxRow(
        tenant_id=conversation.tenant_id,
        message_id=message.id,
        conversation_id=conversation.id,
        prospect_id=conversation.prospect_id,
        appointment_id=appointment_id,
        broadcast_id=broadcast_id,
        campaign_enrolment_id=campaign_enrolment_id,
        purpose=purpose,
        channel_type=channel,
        provider=provider,
        idempotency_key=key or new_key(),
        payload=payload,
        decision={"estimated_cost": str(decision.estimated_cost), "channel": str(channel)},
        fallback_chain=fallback_chain(decision, now),
        attempts_log=[],
        status=row_status,
        attempts=0,
        fallback_attempts=0,
        not_before=not_before,
        expires_at=expires_at,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    return message, row
