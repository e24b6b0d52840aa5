"""Putting a rendered template in the outbox: the single place campaigns and A/B tests send from.

The step becomes a QUEUED message in the prospect's thread (through ``timeline.append_message``)
and a pending outbox row in the same transaction; the outbox worker sends pending rows. The
idempotency key ``campaign:<enrolment id>:<step>`` makes a step impossible to queue twice.
When the orchestrator's ``service.outbound`` is merged, this is the one function to switch to it
(quiet hours, limits and fallback then apply to campaign steps like to any other send).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.enums import DEFAULT_PROVIDER, Channel, Direction, MessageStatus, SenderType
from core.events import ConversationChanged, Event, MessageChanged
from core.service.timeline import append_message, conversation_for
from core.storage import tables as t
from core.templates.message import RenderedMessage


def idempotency_key(enrolment_id: int, step: int) -> str:
    """The outbox key of a campaign step."""
    return f"campaign:{enrolment_id}:{step}"


async def enqueue_step(
    session: AsyncSession,
    *,
    prospect: t.ProspectRow,
    channel: Channel,
    to: str,
    rendered: RenderedMessage,
    enrolment_id: int,
    step: int,
    now: datetime,
    events: list[Event],
) -> t.OutboxRow:
    """Queue ``rendered`` to ``prospect`` on ``channel`` as step ``step`` of an enrolment."""
    return await enqueue_rendered(
        session,
        prospect=prospect,
        channel=channel,
        to=to,
        rendered=rendered,
        purpose="campaign",
        key=idempotency_key(enrolment_id, step),
        now=now,
        events=events,
        campaign_enrolment_id=enrolment_id,
        context={"campaign": {"enrolment_id": enrolment_id, "step": step}},
    )


async def enqueue_rendered(
    session: AsyncSession,
    *,
    prospect: t.ProspectRow,
    channel: Channel,
    to: str,
    rendered: RenderedMessage,
    purpose: str,
    key: str,
    now: datetime,
    events: list[Event],
    campaign_enrolment_id: int | None = None,
    context: dict[str, Any] | None = None,
) -> t.OutboxRow:
    """Queue a rendered template: a QUEUED thread message and a pending outbox row.

    ``context`` is stored in the message's metadata and the outbox payload (what sent it).
    """
    conversation = await conversation_for(session, prospect, channel, to)
    message = await append_message(
        session,
        conversation,
        direction=Direction.OUTBOUND,
        sender_type=SenderType.SARA,
        content=rendered.text,
        subject=rendered.subject,
        status=MessageStatus.QUEUED,
        channel=channel,
        meta={**(context or {}), "template": rendered.template_name},
        segments=rendered.segments.segments if rendered.segments else None,
        created_at=now,
    )
    # The outbox worker reads the address from ``contacts`` (the orchestrator's payload shape).
    payload = rendered.payload() | {"to": to, "contacts": {str(channel): to}, **(context or {})}
    if campaign_enrolment_id is not None:
        payload["campaign_enrolment_id"] = campaign_enrolment_id
    row = t.OutboxRow(
        tenant_id=prospect.tenant_id,
        message_id=message.id,
        conversation_id=conversation.id,
        prospect_id=prospect.id,
        campaign_enrolment_id=campaign_enrolment_id,
        purpose=purpose,
        channel_type=channel,
        provider=DEFAULT_PROVIDER[channel],
        idempotency_key=key,
        payload=payload,
        status="pending",
        not_before=now,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    events += [MessageChanged(message.id, conversation.id), ConversationChanged(conversation.id)]
    return row
