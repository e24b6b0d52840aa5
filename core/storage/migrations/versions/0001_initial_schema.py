"""Initial schema: the seed's tables and what the product adds, with full-text search.

Revision ID: 0001
Revises:
Create Date: 2026-11-21 05:20:24.581881
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.storage.text import PG_ACCENTED, PG_PLAIN

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("settings", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "ab_tests",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("metric", sa.String(length=40), nullable=False),
        sa.Column("groups", JSON, nullable=False),
        sa.Column("seed", ID, nullable=False),
        sa.Column("duration_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ab_tests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ab_tests_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "agents",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agents_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "campaigns",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaigns_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "channel_analytics",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("channel_type", sa.String(length=20), nullable=False),
        sa.Column("metric_type", sa.String(length=50), nullable=False),
        sa.Column("metric_value", sa.Double(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("channel_analytics", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analytics_lookup", ["tenant_id", "channel_type", "recorded_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_channel_analytics_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "channels",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("channel_type", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("credentials_ref", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "channel_type"),
    )
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_channels_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "inbound_events",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", ID, nullable=True),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("endpoint", sa.String(length=100), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=True),
        sa.Column("headers", JSON, nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("acked", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider", "dedupe_key", name="uq_inbound_events_dedupe"),
    )
    with op.batch_alter_table("inbound_events", schema=None) as batch_op:
        batch_op.create_index("ix_inbound_pending", ["status", "id"], unique=False)

    op.create_table(
        "message_templates",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("channel_type", sa.String(length=20), nullable=False),
        sa.Column("template_name", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("template_type", sa.String(length=50), nullable=True),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("variables", JSON, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("whatsapp_name", sa.String(length=100), nullable=True),
        sa.Column("whatsapp_category", sa.String(length=20), nullable=True),
        sa.Column("approval_status", sa.String(length=20), nullable=True),
        sa.Column("content_sid", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "channel_type", "template_name", "language"),
    )
    with op.batch_alter_table("message_templates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_message_templates_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "prospects",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("whatsapp", sa.String(length=20), nullable=True),
        sa.Column("telegram_chat_id", ID, nullable=True),
        sa.Column("preferred_channel", sa.String(length=20), nullable=True),
        sa.Column("opted_out_channels", JSON, nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("merged_into_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["prospects.id"],
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("prospects", schema=None) as batch_op:
        batch_op.create_index("ix_prospects_email", ["tenant_id", "email"], unique=False)
        batch_op.create_index("ix_prospects_phone", ["tenant_id", "phone"], unique=False)
        batch_op.create_index(
            "ix_prospects_telegram", ["tenant_id", "telegram_chat_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_prospects_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_prospects_whatsapp", ["tenant_id", "whatsapp"], unique=False)

    op.create_table(
        "appointments",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("prospect_id", ID, nullable=False),
        sa.Column("agent_id", ID, nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
        ),
        sa.ForeignKeyConstraint(
            ["prospect_id"],
            ["prospects.id"],
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index("ix_appointments_agent_time", ["agent_id", "starts_at"], unique=False)
        batch_op.create_index(
            "ix_appointments_prospect", ["prospect_id", "starts_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_appointments_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("agent_id", ID, nullable=True),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column("subject_type", sa.String(length=30), nullable=False),
        sa.Column("subject_id", ID, nullable=True),
        sa.Column("details", JSON, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_audit_tenant_time", ["tenant_id", "created_at"], unique=False)

    op.create_table(
        "campaign_enrolments",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("prospect_id", ID, nullable=False),
        sa.Column("current_step", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("left_reason", sa.String(length=100), nullable=True),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["prospect_id"],
            ["prospects.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "prospect_id"),
    )
    with op.batch_alter_table("campaign_enrolments", schema=None) as batch_op:
        batch_op.create_index("ix_enrolments_due", ["status", "next_run_at"], unique=False)

    op.create_table(
        "campaign_steps",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("campaign_id", ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("channel_type", sa.String(length=20), nullable=False),
        sa.Column("delay_seconds", sa.Integer(), nullable=False),
        sa.Column("template_id", ID, nullable=True),
        sa.Column("condition", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["message_templates.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("campaign_id", "position"),
    )
    op.create_table(
        "conversations",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("prospect_id", ID, nullable=False),
        sa.Column("channel_type", sa.String(length=20), nullable=False),
        sa.Column("channel_identifier", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("assignee_id", ID, nullable=True),
        sa.Column("subject", sa.String(length=500), nullable=True),
        sa.Column("context", JSON, nullable=False),
        sa.Column("switched_from_id", ID, nullable=True),
        sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("prospect_name", sa.String(length=200), nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_message_preview", sa.String(length=200), nullable=False),
        sa.Column("last_message_direction", sa.String(length=10), nullable=True),
        sa.Column("unread_count", sa.Integer(), nullable=False),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["agents.id"],
        ),
        sa.ForeignKeyConstraint(
            ["prospect_id"],
            ["prospects.id"],
        ),
        sa.ForeignKeyConstraint(
            ["switched_from_id"],
            ["conversations.id"],
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_conv_assignee", ["tenant_id", "assignee_id", "last_message_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_conv_channel_recent",
            ["tenant_id", "channel_type", "last_message_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_conv_priority", ["tenant_id", "priority", "last_message_at", "id"], unique=False
        )
        batch_op.create_index("ix_conv_prospect", ["prospect_id", "channel_type"], unique=False)
        batch_op.create_index("ix_conv_switched_from", ["switched_from_id"], unique=False)
        batch_op.create_index(
            "ix_conv_counts",
            ["tenant_id", "channel_type", "status", "unread_count"],
            unique=False,
        )
        batch_op.create_index(
            "ix_conv_recent", ["tenant_id", "last_message_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_conv_status_recent", ["tenant_id", "status", "last_message_at", "id"], unique=False
        )
        batch_op.create_index("ix_conv_waiting", ["tenant_id", "waiting_since", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_conversations_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "conversation_labels",
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("conversation_id", "label"),
    )
    with op.batch_alter_table("conversation_labels", schema=None) as batch_op:
        batch_op.create_index("ix_labels_label", ["label", "conversation_id"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("prospect_id", ID, nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("channel_type", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("sender_type", sa.String(length=10), nullable=False),
        sa.Column("sender_id", ID, nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=True),
        sa.Column("metadata", JSON, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=True),
        sa.Column("provider_message_id", sa.String(length=128), nullable=True),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("error_message", sa.String(length=500), nullable=True),
        sa.Column("segments", sa.Integer(), nullable=True),
        sa.Column("cost_micros", ID, nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["prospect_id"],
            ["prospects.id"],
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider", "provider_message_id", name="uq_messages_provider_id"),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_channel_created", ["tenant_id", "channel_type", "created_at"], unique=False
        )
        batch_op.create_index("ix_messages_conversation", ["conversation_id", "id"], unique=False)
        batch_op.create_index(
            "ix_messages_prospect_time", ["prospect_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_messages_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "ab_assignments",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("test_id", ID, nullable=False),
        sa.Column("prospect_id", ID, nullable=False),
        sa.Column("group_name", sa.String(length=20), nullable=False),
        sa.Column("message_id", ID, nullable=True),
        sa.Column("converted", sa.Boolean(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
        ),
        sa.ForeignKeyConstraint(
            ["prospect_id"],
            ["prospects.id"],
        ),
        sa.ForeignKeyConstraint(["test_id"], ["ab_tests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("test_id", "prospect_id"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("message_id", ID, nullable=True),
        sa.Column("conversation_id", ID, nullable=True),
        sa.Column("prospect_id", ID, nullable=True),
        sa.Column("appointment_id", ID, nullable=True),
        sa.Column("campaign_enrolment_id", ID, nullable=True),
        sa.Column("broadcast_id", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=30), nullable=False),
        sa.Column("channel_type", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("decision", JSON, nullable=False),
        sa.Column("fallback_chain", JSON, nullable=False),
        sa.Column("attempts_log", JSON, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("fallback_attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("provider_message_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
        ),
        sa.ForeignKeyConstraint(
            ["prospect_id"],
            ["prospects.id"],
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_appointment", ["appointment_id"], unique=False)
        batch_op.create_index("ix_outbox_broadcast", ["broadcast_id", "status"], unique=False)
        batch_op.create_index("ix_outbox_due", ["status", "not_before", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_tenant_id"), ["tenant_id"], unique=False)

    _create_search()


def downgrade() -> None:
    _drop_search()
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_tenant_id"))
        batch_op.drop_index("ix_outbox_due")
        batch_op.drop_index("ix_outbox_broadcast")
        batch_op.drop_index("ix_outbox_appointment")

    op.drop_table("outbox")
    op.drop_table("ab_assignments")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_tenant_id"))
        batch_op.drop_index("ix_messages_prospect_time")
        batch_op.drop_index("ix_messages_conversation")
        batch_op.drop_index("ix_messages_channel_created")

    op.drop_table("messages")
    with op.batch_alter_table("conversation_labels", schema=None) as batch_op:
        batch_op.drop_index("ix_labels_label")

    op.drop_table("conversation_labels")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_tenant_id"))
        batch_op.drop_index("ix_conv_waiting")
        batch_op.drop_index("ix_conv_status_recent")
        batch_op.drop_index("ix_conv_recent")
        batch_op.drop_index("ix_conv_prospect")
        batch_op.drop_index("ix_conv_counts")
        batch_op.drop_index("ix_conv_switched_from")
        batch_op.drop_index("ix_conv_priority")
        batch_op.drop_index("ix_conv_channel_recent")
        batch_op.drop_index("ix_conv_assignee")

    op.drop_table("conversations")
    op.drop_table("campaign_steps")
    with op.batch_alter_table("campaign_enrolments", schema=None) as batch_op:
        batch_op.drop_index("ix_enrolments_due")

    op.drop_table("campaign_enrolments")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_tenant_time")
        batch_op.drop_index(batch_op.f("ix_audit_log_tenant_id"))

    op.drop_table("audit_log")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointments_tenant_id"))
        batch_op.drop_index("ix_appointments_prospect")
        batch_op.drop_index("ix_appointments_agent_time")

    op.drop_table("appointments")
    with op.batch_alter_table("prospects", schema=None) as batch_op:
        batch_op.drop_index("ix_prospects_whatsapp")
        batch_op.drop_index(batch_op.f("ix_prospects_tenant_id"))
        batch_op.drop_index("ix_prospects_telegram")
        batch_op.drop_index("ix_prospects_phone")
        batch_op.drop_index("ix_prospects_email")

    op.drop_table("prospects")
    with op.batch_alter_table("message_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_templates_tenant_id"))

    op.drop_table("message_templates")
    with op.batch_alter_table("inbound_events", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_pending")

    op.drop_table("inbound_events")
    with op.batch_alter_table("channels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channels_tenant_id"))

    op.drop_table("channels")
    with op.batch_alter_table("channel_analytics", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_channel_analytics_tenant_id"))
        batch_op.drop_index("ix_analytics_lookup")

    op.drop_table("channel_analytics")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaigns_tenant_id"))

    op.drop_table("campaigns")
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agents_tenant_id"))

    op.drop_table("agents")
    with op.batch_alter_table("ab_tests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ab_tests_tenant_id"))

    op.drop_table("ab_tests")
    op.drop_table("tenants")


_SQLITE_SEARCH = [
    """CREATE VIRTUAL TABLE messages_fts USING fts5(
        subject, content, content='messages', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, subject, content)
        VALUES (new.id, coalesce(new.subject, ''), new.content);
    END""",
    """CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, subject, content)
        VALUES ('delete', old.id, coalesce(old.subject, ''), old.content);
    END""",
    """CREATE TRIGGER messages_fts_au AFTER UPDATE OF content, subject ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, subject, content)
        VALUES ('delete', old.id, coalesce(old.subject, ''), old.content);
        INSERT INTO messages_fts(rowid, subject, content)
        VALUES (new.id, coalesce(new.subject, ''), new.content);
    END""",
    """CREATE VIRTUAL TABLE prospects_fts USING fts5(
        display_name, email, content='prospects', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER prospects_fts_ai AFTER INSERT ON prospects BEGIN
        INSERT INTO prospects_fts(rowid, display_name, email)
        VALUES (new.id, new.display_name, coalesce(new.email, ''));
    END""",
    """CREATE TRIGGER prospects_fts_ad AFTER DELETE ON prospects BEGIN
        INSERT INTO prospects_fts(prospects_fts, rowid, display_name, email)
        VALUES ('delete', old.id, old.display_name, coalesce(old.email, ''));
    END""",
    """CREATE TRIGGER prospects_fts_au AFTER UPDATE OF display_name, email ON prospects BEGIN
        INSERT INTO prospects_fts(prospects_fts, rowid, display_name, email)
        VALUES ('delete', old.id, old.display_name, coalesce(old.email, ''));
        INSERT INTO prospects_fts(rowid, display_name, email)
        VALUES (new.id, new.display_name, coalesce(new.email, ''));
    END""",
]


def _pg_vector(expression: str) -> str:
    folded = f"translate(lower({expression}), '{PG_ACCENTED}', '{PG_PLAIN}')"
    return f"to_tsvector('simple', {folded})"


def _create_search() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_SEARCH:
            op.execute(statement)
        return
    message_text = "coalesce(subject, '') || ' ' || coalesce(content, '')"
    prospect_text = "coalesce(display_name, '') || ' ' || coalesce(email, '')"
    op.execute(
        "ALTER TABLE messages ADD COLUMN search_vector tsvector "
        f"GENERATED ALWAYS AS ({_pg_vector(message_text)}) STORED"
    )
    op.execute("CREATE INDEX ix_messages_search ON messages USING gin (search_vector)")
    op.execute(
        "ALTER TABLE prospects ADD COLUMN search_vector tsvector "
        f"GENERATED ALWAYS AS ({_pg_vector(prospect_text)}) STORED"
    )
    op.execute("CREATE INDEX ix_prospects_search ON prospects USING gin (search_vector)")


def _drop_search() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS messages_fts")
        op.execute("DROP TABLE IF EXISTS prospects_fts")
