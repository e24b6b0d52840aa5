"""Converters from ORM rows to domain models."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Row

from core.domain import models as m
from core.storage import tables as t
from core.storage.inbox_list import summary_fields

MICROS = Decimal(1_000_000)


def to_micros(amount: Decimal | None) -> int | None:
    """Money to integer micro-units, as stored."""
    return None if amount is None else int((amount * MICROS).to_integral_value())


def from_micros(micros: int | None) -> Decimal | None:
    """Stored micro-units back to money."""
    return None if micros is None else Decimal(micros) / MICROS


def prospect(row: t.ProspectRow) -> m.Prospect:
    """A prospect row as the domain sees it."""
    return m.Prospect(
        id=row.id,
        tenant_id=row.tenant_id,
        display_name=row.display_name,
        phone=row.phone,
        email=row.email,
        whatsapp=row.whatsapp,
        telegram_chat_id=row.telegram_chat_id,
        preferred_channel=row.preferred_channel,
        opted_out_channels=tuple(row.opted_out_channels or ()),
        timezone=row.timezone,
        language=row.language,
        merged_into_id=row.merged_into_id,
        created_at=row.created_at,
    )


def conversation_summary(
    row: t.ConversationRow,
    labels: tuple[str, ...] = (),
    assignee: str | None = None,
    has_draft: bool = False,
    match_snippet: str | None = None,
) -> m.ConversationSummary:
    """One inbox row (``match_snippet``: why a search found it)."""
    return m.ConversationSummary(
        **summary_fields(row, labels, assignee),
        has_draft=has_draft,
        match_snippet=match_snippet,
    )


def conversation(
    row: t.ConversationRow,
    labels: tuple[str, ...] = (),
    assignee: str | None = None,
    switched_to: tuple[int, ...] = (),
) -> m.Conversation:
    """A conversation with its links."""
    return m.Conversation(
        **summary_fields(row, labels, assignee),
        channel_identifier=row.channel_identifier,
        switched_from_id=row.switched_from_id,
        switched_to_ids=switched_to,
        context=row.context or {},
        created_at=row.created_at,
        closed_at=row.closed_at,
    )


def message(row: t.MessageRow | Row[Any]) -> m.Message:
    """A thread item, from its ORM row or a plain row of the same columns."""
    return m.Message(
        id=row.id,
        conversation_id=row.conversation_id,
        prospect_id=row.prospect_id,
        channel=row.channel_type,
        direction=row.direction,
        kind=row.kind,
        sender_type=row.sender_type,
        sender_id=row.sender_id,
        content=row.content,
        subject=row.subject,
        metadata=row.meta or {},
        status=row.status,
        provider=row.provider,
        provider_message_id=row.provider_message_id,
        error_code=row.error_code,
        error_message=row.error_message,
        segments=row.segments,
        cost=from_micros(row.cost_micros),
        currency=row.currency,
        created_at=row.created_at,
        sent_at=row.sent_at,
        delivered_at=row.delivered_at,
        read_at=row.read_at,
    )


def appointment(row: t.AppointmentRow) -> m.Appointment:
    """An appointment."""
    return m.Appointment.model_validate(row, from_attributes=True)


def template(row: t.MessageTemplateRow) -> m.MessageTemplate:
    """A message template."""
    return m.MessageTemplate(
        id=row.id,
        tenant_id=row.tenant_id,
        channel=row.channel_type,
        name=row.template_name,
        language=row.language,
        template_type=row.template_type,
        subject=row.subject,
        content=row.content,
        html=row.html,
        variables=tuple(row.variables or ()),
        enabled=row.enabled,
        whatsapp_name=row.whatsapp_name,
        whatsapp_category=row.whatsapp_category,
        approval_status=row.approval_status,
        content_sid=row.content_sid,
    )


def channel_config(row: t.ChannelRow) -> m.ChannelConfig:
    """A channel's set-up."""
    return m.ChannelConfig(
        id=row.id,
        tenant_id=row.tenant_id,
        channel=row.channel_type,
        provider=row.provider,
        enabled=row.enabled,
        config=row.config or {},
        credentials_ref=row.credentials_ref,
    )


def agent(row: t.AgentRow) -> m.Agent:
    """An agent."""
    return m.Agent(
        id=row.id, tenant_id=row.tenant_id, name=row.name, email=row.email, active=row.active
    )
