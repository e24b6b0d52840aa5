"""ORM rows (SQLAlchemy 2). Start from the seed's schema and add what the product needs.

Conventions: integer keys; every tenant-owned row carries ``tenant_id``; timestamps are UTC;
money is stored as integer micro-units of ``currency`` (``cost_micros``), never as floats;
the conversation row is denormalised (last message, unread count, waiting-since) and updated in the
same transaction as the message, so that the inbox list never aggregates messages.
"""

# No ``from __future__ import annotations`` here: SQLAlchemy reads each ``Mapped[...]`` annotation
# when the class is declared, and string annotations it must evaluate first (about 15 % of
# declaring these tables, paid on every start). Annotations name only classes defined above.
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.orm.attributes import flag_modified

from core.storage.types import ID, Json, UTCDateTime, utcnow

#: The messages ``ix_messages_inbound_channel`` holds (and queries using it must say so literally).
INBOUND_COUNTED = "direction = 'inbound' AND kind IN ('message', 'call')"
#: The rows the partial indexes of a nullable reference hold: only those that have one (both
#: are read by equality, which implies it; most rows, a broadcast's all, have none).
SWITCHED = "switched_from_id IS NOT NULL"
APPOINTMENT = "appointment_id IS NOT NULL"


class Base(DeclarativeBase):
    """Declarative base of every table."""

    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: Json, list[Any]: Json}


def _pk() -> Mapped[int]:
    return mapped_column(ID, primary_key=True, autoincrement=True)


def _tenant(index: bool = True) -> Mapped[int]:
    """The owning tenant; ``index=False`` where a composite index starts with ``tenant_id``
    already, or where no read goes by tenant alone (each index entry is written per row)."""
    return mapped_column(ID, ForeignKey("tenants.id", ondelete="CASCADE"), index=index)


def _created() -> Mapped[datetime]:
    return mapped_column(default=utcnow)


def _updated() -> Mapped[datetime]:
    return mapped_column(default=utcnow, onupdate=utcnow)


def touch(row: Any, now: datetime) -> None:
    """Stamp ``row.updated_at`` with ``now`` (the service's clock) in its next UPDATE.

    Assigning the value alone is not enough: when it equals the stored one (a pinned clock, two
    changes in the same instant) SQLAlchemy leaves the column out of the UPDATE, and its
    ``onupdate`` then writes the wall clock instead."""
    row.updated_at = now
    flag_modified(row, "updated_at")


class TenantRow(Base):
    __tablename__ = "tenants"

    id: Mapped[int] = _pk()
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    #: Tenant settings (quiet hours, limits, company info…) as a ``TenantSettings`` document.
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = _created()


class AgentRow(Base):
    __tablename__ = "agents"

    id: Mapped[int] = _pk()
    tenant_id: Mapped[int] = _tenant()
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = _created()
    #: ``coccinelle agent password``: a salted scrypt hash (core.team.passwords), never the text.
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)


class ProspectRow(Base):
    __tablename__ = "prospects"
    __table_args__ = (
        Index("ix_prospects_phone", "tenant_id", "phone"),
        Index("ix_prospects_email", "tenant_id", "email"),
        Index("ix_prospects_whatsapp", "tenant_id", "whatsapp"),
        Index("ix_prospects_telegram", "tenant_id", "telegram_chat_id"),
    )

    id: Mapped[int] = _pk()
    tenant_id: Mapped[int] = _tenant()
    display_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    whatsapp: Mapped[str | None] = mapped_column(String(20))
    telegram_chat_id: Mapped[int | None] = mapped_column(ID)
    preferred_channel: Mapped[str | None] = mapped_column(String(20))
    opted_out_channels: Mapped[list[Any]] = mapped_column(default=list)
    timezone: Mapped[str | None] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(8))
    merged_into_id: Mapped[int | None] = mapped_column(ID, ForeignKey("prospects.id"))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class ChannelRow(Base):
    __tablename__ = "channels"
    #: One row per provider of a channel: WhatsApp may run on Twilio and on Meta at once.
    __table_args__ = (
        UniqueConstraint(
            "tenant_id", "channel_type", "provider", name="uq_channels_tenant_channel_provider"
        ),
    )

    id: Mapped[int] = _pk()
    tenant_id: Mapped[int] = _tenant()
    channel_type: Mapped[str] = mapped_column(String(20))
    provider: Mapped[str] = mapped_column(String(20))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The keyring service name under which the secrets live; never a secret itself.
    credentials_ref: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class ConversationRow(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conv_recent", "tenant_id", "last_message_at", "id"),
        Index("ix_conv_status_recent", "tenant_id", "status", "last_message_at", "id"),
        Index("ix_conv_channel_recent", "tenant_id", "channel_type", "last_message_at", "id"),
        Index("ix_conv_waiting", "tenant_id", "waiting_since", "id"),
        # Not last_message_at: the priority sort (priority up, newest first) is served by the
        # priority alone then sorted, with it or without it; without it, a conversation's new
        # message leaves this index as it was (a broadcast's writes, migration 0014).
        Index("ix_conv_priority", "tenant_id", "priority"),
        Index("ix_conv_assignee", "tenant_id", "assignee_id", "last_message_at", "id"),
        Index("ix_conv_prospect", "prospect_id", "channel_type"),
        Index("ix_conv_switched_from", "switched_from_id", sqlite_where=text(SWITCHED)),
        # Covers the sidebar counts so they never read the table itself.
        Index("ix_conv_counts", "tenant_id", "channel_type", "status", "unread_count"),
    )

    id: Mapped[int] = _pk()
    tenant_id: Mapped[int] = _tenant(index=False)
    prospect_id: Mapped[int] = mapped_column(ID, ForeignKey("prospects.id"))
    channel_type: Mapped[str] = mapped_column(String(20))
    channel_identifier: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(20), default="open")
    #: 0 urgent, 1 high, 2 medium, 3 low (see ``Priority.rank``).
    priority: Mapped[int] = mapped_column(SmallInteger, default=2)
    assignee_id: Mapped[int | None] = mapped_column(ID, ForeignKey("agents.id"))
    subject: Mapped[str | None] = mapped_column(String(500))
    context: Mapped[dict[str, Any]] = mapped_column(default=dict)
    switched_from_id: Mapped[int | None] = mapped_column(ID, ForeignKey("conversations.id"))
    snoozed_until: Mapped[datetime | None] = mapped_column()
    # Denormalised from the messages, kept in step in the same transaction.
    prospect_name: Mapped[str] = mapped_column(String(200), default="")
    last_message_at: Mapped[datetime | None] = mapped_column()
    last_message_preview: Mapped[str] = mapped_column(String(200), default="")
    last_message_direction: Mapped[str | None] = mapped_column(String(10))
    unread_count: Mapped[int] = mapped_column(Integer, default=0)
    waiting_since: Mapped[datetime | None] = mapped_column()
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()
    closed_at: Mapped[datetime | None] = mapped_column()


class ConversationLabelRow(Base):
    __tablename__ = "conversation_labels"
    __table_args__ = (Index("ix_labels_label", "label", "conversation_id"),)

    conversation_id: Mapped[int] = mapped_column(
        ID, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[str] = mapped_column(String(64), primary_key=True)


class MessageRow(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("provider", "provider_message_id", name="uq_messages_provider_id"),
        Index("ix_messages_conversation", "conversation_id", "id"),
        Index("ix_messages_prospect_time", "prospect_id", "created_at", "id"),
        Index("ix_messages_channel_created", "tenant_id", "channel_type", "created_at"),
        Index("ix_messages_tenant_created", "tenant_id", "created_at"),
        Index(
            "ix_messages_inbound_channel",
            "tenant_id",
            "prospect_id",
            "channel_type",
            "created_at",
            sqlite_where=text(INBOUND_COUNTED),  # on PostgreSQL too: ``postgresql_indexes``
        ),
    )

    id: Mapped[int] = _pk()
    tenant_id: Mapped[int] = _tenant(index=False)
    conversation_id: Mapped[int] = mapped_column(
        ID, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    prospect_id: Mapped[int] = mapped_column(ID, ForeignKey("prospects.id"))
    direction: Mapped[str] = mapped_column(String(10))
    channel_type: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(10), default="message")
    sender_type: Mapped[str] = mapped_column(String(10))
    sender_id: Mapped[int | None] = mapped_column(ID)
    content: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str | None] = mapped_column(String(500))
    #: Media, attachments, location, template, call details, the orchestrator's decision…
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    status: Mapped[str] = mapped_column(String(20))
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(String(500))
    segments: Mapped[int | None] = mapped_column(Integer)
    cost_micros: Mapped[int | None] = mapped_column(ID)
    currency: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime] = _created()
    sent_at: Mapped[datetime | None] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column()
    read_at: Mapped[datetime | None] = mapped_column()
    failed_at: Mapped[datetime | None] = mapped_column()
    #: Set (instead of ``conversation_id``) to insert a batch's new rows in one flush; never
    #: loaded (``lazy="raise"``: async code reads the id).
    conversation: Mapped[ConversationRow] = relationship(lazy="raise")


class MessageTemplateRow(Base):
    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "channel_type", "template_name", "language"),)

    id: Mapped[int] = _pk()
    tenant_id: Mapped[int] = _tenant()
    channel_type: Mapped[str] = mapped_column(String(20))
    template_name: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(8), default="fr")
    template_type: Mapped[str | None] = mapped_column(String(50))
    subject: Mapped[str | None] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    variables: Mapped[list[Any]] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    whatsapp_name: Mapped[str | None] = mapped_column(String(100))
    whatsapp_category: Mapped[str | None] = mapped_column(String(20))
    approval_status: Mapped[str | None] = mapped_column(String(20))
    content_sid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class AppointmentRow(Base):
    __tablename__ = "appointments"
    __table_args__ = (
        Index("ix_appointments_agent_time", "agent_id", "starts_at"),
        Index("ix_appointments_prospect", "prospect_id", "starts_at"),
    )

    id: Mapped[int] = _pk()
    tenant_id: Mapped[int] = _tenant()
    prospect_id: Mapped[int] = mapped_column(ID, ForeignKey("prospects.id"))
    agent_id: Mapped[int | None] = mapped_column(ID, ForeignKey("agents.id"))
    kind: Mapped[str] = mapped_column(String(30), default="visit")
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    location: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="proposed")
    notes: Mapped[str | None] = mapped_column(Text)
    #: When it was confirmed (the service's clock); conversions are counted from it.
    confirmed_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class OutboxRow(Base):
    """One outgoing send. Committed before the provider is called; a worker leases and sends it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "not_before", "id"),
        Index("ix_outbox_appointment", "appointment_id", sqlite_where=text(APPOINTMENT)),
        Index("ix_outbox_broadcast", "broadcast_id", "status"),
    )

    id: Mapped[int] = _pk()
    tenant_id: Mapped[int] = _tenant(index=False)
    message_id: Mapped[int | None] = mapped_column(ID, ForeignKey("messages.id"))
    conversation_id: Mapped[int | None] = mapped_column(ID, ForeignKey("conversations.id"))
    prospect_id: Mapped[int | None] = mapped_column(ID, ForeignKey("prospects.id"))
    appointment_id: Mapped[int | None] = mapped_column(ID, ForeignKey("appointments.id"))
    campaign_enrolment_id: Mapped[int | None] = mapped_column(ID)
    broadcast_id: Mapped[str | None] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(30), default="reply")
    channel_type: Mapped[str] = mapped_column(String(20))
    provider: Mapped[str] = mapped_column(String(20))
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    decision: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Channels still to try, in order, when this one fails for good.
    fallback_chain: Mapped[list[Any]] = mapped_column(default=list)
    attempts_log: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    fallback_attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column()
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(500))
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()
    #: Set (instead of the ids) to insert a batch's new rows in one flush; never loaded.
    message: Mapped[MessageRow | None] = relationship(lazy="raise")
    conversation: Mapped[ConversationRow | None] = relationship(lazy="raise")


class InboundEventRow(Base):
    """The relay's durable log of raw provider events, stored before the provider gets its 2xx."""

    __tablename__ = "inbound_events"
    __table_args__ = (
        UniqueConstraint("provider", "dedupe_key", name="uq_inbound_events_dedupe"),
        Index("ix_inbound_pending", "status", "id"),
    )

    id: Mapped[int] = _pk()
    tenant_id: Mapped[int | None] = mapped_column(ID, ForeignKey("tenants.id"))
    provider: Mapped[str] = mapped_column(String(20))
    endpoint: Mapped[str] = mapped_column(String(100))
    dedupe_key: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str | None] = mapped_column(String(200))
    #: Headers the parser needs (signature headers excluded once verified).
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(500))
    acked: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[datetime] = _created()
    processed_at: Mapped[datetime | None] = mapped_column()
    #: When a failed event is tried again (None: as soon as a worker gets to it).
    next_attempt_at: Mapped[datetime | None] = mapped_column()


class CampaignRow(Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = _pk()
    tenant_id: Mapped[int] = _tenant()
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    #: Template values shared by every prospect of the campaign (property address, price…).
    variables: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class CampaignStepRow(Base):
    __tablename__ = "campaign_steps"
    __table_args__ = (UniqueConstraint("campaign_id", "position"),)

    id: Mapped[int] = _pk()
    campaign_id: Mapped[int] = mapped_column(ID, ForeignKey("campaigns.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    channel_type: Mapped[str] = mapped_column(String(20), default="auto")
    delay_seconds: Mapped[int] = mapped_column(Integer, default=0)
    template_id: Mapped[int | None] = mapped_column(ID, ForeignKey("message_templates.id"))
    condition: Mapped[str | None] = mapped_column(String(40))


class CampaignEnrolmentRow(Base):
    __tablename__ = "campaign_enrolments"
    __table_args__ = (
        UniqueConstraint("campaign_id", "prospect_id"),
        Index("ix_enrolments_due", "status", "next_run_at"),
    )

    id: Mapped[int] = _pk()
    campaign_id: Mapped[int] = mapped_column(ID, ForeignKey("campaigns.id", ondelete="CASCADE"))
    prospect_id: Mapped[int] = mapped_column(ID, ForeignKey("prospects.id"))
    current_step: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(20), default="active")
    next_run_at: Mapped[datetime | None] = mapped_column()
    left_reason: Mapped[str | None] = mapped_column(String(100))
    enrolled_at: Mapped[datetime] = _created()


class ABTestRow(Base):
    __tablename__ = "ab_tests"

    id: Mapped[int] = _pk()
    tenant_id: Mapped[int] = _tenant()
    name: Mapped[str] = mapped_column(String(200))
    metric: Mapped[str] = mapped_column(String(40))
    groups: Mapped[dict[str, Any]] = mapped_column(default=dict)
    seed: Mapped[int] = mapped_column(ID, default=0)
    duration_days: Mapped[int] = mapped_column(Integer, default=7)
    status: Mapped[str] = mapped_column(String(20), default="running")
    started_at: Mapped[datetime] = _created()
    ends_at: Mapped[datetime | None] = mapped_column()


class ABAssignmentRow(Base):
    __tablename__ = "ab_assignments"
    __table_args__ = (UniqueConstraint("test_id", "prospect_id"),)

    id: Mapped[int] = _pk()
    test_id: Mapped[int] = mapped_column(ID, ForeignKey("ab_tests.id", ondelete="CASCADE"))
    prospect_id: Mapped[int] = mapped_column(ID, ForeignKey("prospects.id"))
    group_name: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[int | None] = mapped_column(ID, ForeignKey("messages.id"))
    converted: Mapped[bool] = mapped_column(Boolean, default=False)
    assigned_at: Mapped[datetime] = _created()


class ChannelAnalyticsRow(Base):
    """The seed's metric rows: rollups per channel and day, written by the analytics module."""

    __tablename__ = "channel_analytics"
    __table_args__ = (
        Index("ix_analytics_lookup", "tenant_id", "channel_type", "recorded_at"),
        Index("ix_analytics_daily", "tenant_id", "metric_type", "recorded_at"),
    )

    id: Mapped[int] = _pk()
    tenant_id: Mapped[int] = _tenant()
    channel_type: Mapped[str] = mapped_column(String(20))
    metric_type: Mapped[str] = mapped_column(String(50))
    metric_value: Mapped[float] = mapped_column(default=0.0)
    #: A daily rollup's counters (``core.analytics.aggregate.Counters.to_json``).
    details: Mapped[dict[str, Any] | None] = mapped_column(Json)
    recorded_at: Mapped[datetime] = _created()


class AnalyticsStaleRow(Base):
    """A day whose stored rollups are out of date (filled by triggers, see migration 0003)."""

    __tablename__ = "analytics_stale"

    tenant_id: Mapped[int] = mapped_column(ID, primary_key=True)
    #: Days since 1970-01-01 (UTC).
    day: Mapped[int] = mapped_column(Integer, primary_key=True)


class SpendDailyRow(Base):
    """What a tenant's outgoing messages of one UTC day cost (triggers, migration 0006)."""

    __tablename__ = "spend_daily"

    tenant_id: Mapped[int] = mapped_column(ID, primary_key=True)
    #: Days since 1970-01-01 (UTC).
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    spent_micros: Mapped[int] = mapped_column(ID)


class AuditLogRow(Base):
    """Who did what: assignments, closes, channel switches, template and settings edits."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_tenant_time", "tenant_id", "created_at"),)

    id: Mapped[int] = _pk()
    tenant_id: Mapped[int] = _tenant()
    agent_id: Mapped[int | None] = mapped_column(ID, ForeignKey("agents.id"))
    action: Mapped[str] = mapped_column(String(50))
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[int | None] = mapped_column(ID)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = _created()


class AutomationLogRow(Base):
    """One decision of the automation policy (``core.automation``): sent, held or kept quiet.

    The policy counts the ``sent`` rows to cap a prospect's automated messages per hour and to
    answer each intent of a conversation once per window.
    """

    __tablename__ = "automation_log"
    __table_args__ = (
        Index("ix_automation_log_prospect", "tenant_id", "prospect_id", "created_at"),
        Index("ix_automation_log_intent", "conversation_id", "intent", "created_at"),
    )

    id: Mapped[int] = _pk()
    tenant_id: Mapped[int] = _tenant()
    prospect_id: Mapped[int | None] = mapped_column(ID, ForeignKey("prospects.id"))
    conversation_id: Mapped[int | None] = mapped_column(ID, ForeignKey("conversations.id"))
    #: What the message answers or is about (``confirm:appointment:12``, ``auto_reply``…).
    intent: Mapped[str] = mapped_column(String(120))
    #: ``sent``, ``held`` or ``quiet`` (nothing sent, nothing kept).
    outcome: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = _created()


class AutomationPauseRow(Base):
    """Automation paused for one conversation (the ceiling was crossed) until an agent resumes."""

    __tablename__ = "automation_pauses"
    __table_args__ = (Index("ix_automation_pauses_open", "conversation_id", "resumed_at"),)

    id: Mapped[int] = _pk()
    tenant_id: Mapped[int] = _tenant()
    conversation_id: Mapped[int] = mapped_column(
        ID, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    reason: Mapped[str] = mapped_column(String(40))
    #: The numbers behind the reason (count, ceiling, window) for the agent's explanation.
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    paused_at: Mapped[datetime] = _created()
    resumed_at: Mapped[datetime | None] = mapped_column()
    resumed_by: Mapped[int | None] = mapped_column(ID, ForeignKey("agents.id"))


class ProviderPaceRow(Base):
    """When a provider may next be called, shared by every sending process (team mode).

    One row per rate-limited key (an adapter of a tenant): the "theoretical arrival time" of the
    generic cell rate algorithm, see ``core.team.rate_limit``.
    """

    __tablename__ = "provider_pace"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DraftRow(Base):
    """A reply being written in a conversation, kept until it is sent or discarded."""

    __tablename__ = "drafts"

    conversation_id: Mapped[int] = mapped_column(
        ID, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[int] = _tenant()
    text: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = _updated()


def postgresql_indexes(*_: Any, **__: Any) -> None:
    """Give the partial indexes their PostgreSQL ``WHERE``, the same as SQLite's (the
    migrations create them; this is for the metadata's own DDL and for comparing it with a
    PostgreSQL schema).

    Not written in the ``Index``: a ``postgresql_*`` option there imports SQLAlchemy's
    PostgreSQL dialect and its drivers' modules with this module, into an app on SQLite too.
    """
    for table in Base.metadata.tables.values():
        for index in table.indexes:
            where = index.dialect_options["sqlite"]["where"]
            if where is not None:
                index.dialect_options["postgresql"]["where"] = where


event.listen(Base.metadata, "before_create", postgresql_indexes)
