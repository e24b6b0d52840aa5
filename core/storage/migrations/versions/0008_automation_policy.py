"""The automation policy's ledger and its pauses (``core.automation``).

- ``automation_log``: every decision of the policy on an automated message (sent, held, kept
  quiet) with its reason; the hourly ceiling and the once-per-intent window count its rows.
- ``automation_pauses``: a conversation whose automation is paused (the ceiling was crossed),
  until an agent resumes it.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "automation_log",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("prospect_id", ID, nullable=True),
        sa.Column("conversation_id", ID, nullable=True),
        sa.Column("intent", sa.String(length=120), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"]),
        sa.ForeignKeyConstraint(["prospect_id"], ["prospects.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("automation_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_automation_log_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            "ix_automation_log_prospect", ["tenant_id", "prospect_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_automation_log_intent", ["conversation_id", "intent", "created_at"], unique=False
        )
    op.create_table(
        "automation_pauses",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resumed_by", ID, nullable=True),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["resumed_by"], ["agents.id"]),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("automation_pauses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_automation_pauses_tenant_id"), ["tenant_id"], unique=False
        )
        batch_op.create_index(
            "ix_automation_pauses_open", ["conversation_id", "resumed_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("automation_pauses")
    op.drop_table("automation_log")
