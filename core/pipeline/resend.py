"""Sending a message again (an agent's "resend"): decided again on its channel, then queued.

The content is the one rendered when the message was first submitted; what may have changed since
is whether it can still go: the prospect opted out, the address went away, WhatsApp's window
closed (and the message had no approved template), the channel was turned off, or it is now quiet
hours. The channel's decision is taken again through the pipeline's ``preview``; a refusal raises
with its reasons, in the agent's language, and nothing is queued.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.config.settings import OrchestratorSettings
from core.domain.enums import Channel, MessageStatus, OutboxStatus
from core.errors import InvalidInput
from core.pipeline.queue import new_key
from core.pipeline.request import Kind, OutgoingRequest, Rendering
from core.pipeline.submit import preview
from core.storage import tables as t


async def resend(
    session: AsyncSession,
    message: t.MessageRow,
    last: t.OutboxRow,
    now: datetime,
    settings: OrchestratorSettings | None = None,
) -> t.OutboxRow:
    """Queue ``message`` again on its last channel, under a new key, if it can still go there.

    Raises:
        InvalidInput: the channel refuses it now (the message says why); nothing is queued.
    """
    channel = Channel(message.channel_type)
    payload = dict(last.payload or {})
    request = OutgoingRequest(
        tenant_id=message.tenant_id,
        prospect_id=message.prospect_id,
        kind=Kind.RESEND,
        conversation_id=message.conversation_id,
        channel=channel,
        renderings={channel: _rendering(payload)},
        whatsapp_template=_template_after(payload, channel),
    )
    outcome = await preview(session, request, now=now, settings=settings)
    decision = outcome.decision
    if decision is None or decision.channel != channel:
        raise InvalidInput("message", message.id, outcome.why)
    held = decision.held_until is not None and decision.held_until > now
    row = t.OutboxRow(
        tenant_id=message.tenant_id,
        message_id=message.id,
        conversation_id=message.conversation_id,
        prospect_id=message.prospect_id,
        appointment_id=last.appointment_id,
        broadcast_id=last.broadcast_id,
        purpose=last.purpose,
        channel_type=channel,
        provider=last.provider,
        idempotency_key=new_key(),
        payload=payload,
        decision={"estimated_cost": str(decision.estimated_cost), "channel": str(channel)},
        fallback_chain=[],
        attempts_log=[],
        status=OutboxStatus.HELD if held else OutboxStatus.PENDING,
        not_before=decision.held_until if held else now,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    message.status = MessageStatus.HELD if held else MessageStatus.QUEUED
    message.error_code = message.error_message = None
    message.meta = {**(message.meta or {}), "resent": (message.meta or {}).get("resent", 0) + 1}
    return row


def _rendering(payload: dict[str, Any]) -> Rendering:
    """The content the row carried, as the pipeline's rendering for its channel."""
    return Rendering(
        text=payload.get("text") or "",
        subject=payload.get("subject"),
        html=payload.get("html"),
        attachments=tuple(payload.get("attachments") or ()),
        buttons=tuple(payload.get("buttons") or ()),
        template=payload.get("template"),
        template_name=payload.get("template_name"),
    )


def _template_after(payload: dict[str, Any], channel: Channel) -> Rendering | None:
    """WhatsApp's approved template the message carried for after its window, if any."""
    if channel != Channel.WHATSAPP:
        return None
    variant = (payload.get("variants") or {}).get(str(Channel.WHATSAPP)) or {}
    later = variant.get("template_after")
    return _rendering(later) if later else None
