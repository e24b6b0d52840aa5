"""Campaign variables, A/B test tables matching the models, indexes for channel analytics.

- ``campaigns.variables``: template values shared by every prospect of a campaign.
- ``ab_tests`` / ``ab_assignments``: 0001 created ``ab_tests`` with columns the model does not
  have (``active``, ``created_at``) and without those it has (metric, groups, seed…), so no row
  could be written; both tables are recreated as ``core.storage.tables`` declares them.
- ``ix_messages_tenant_created``: channel statistics read one tenant's messages of a period.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("variables", JSON, nullable=False, server_default=sa.text("'{}'"))
        )
    op.drop_table("ab_assignments")
    op.drop_table("ab_tests")
    _create_ab_tables()
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_tenant_created", ["tenant_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_tenant_created")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("variables")


def _create_ab_tables() -> None:
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
        "ab_assignments",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("test_id", ID, nullable=False),
        sa.Column("prospect_id", ID, nullable=False),
        sa.Column("group_name", sa.String(length=20), nullable=False),
        sa.Column("message_id", ID, nullable=True),
        sa.Column("converted", sa.Boolean(), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"]),
        sa.ForeignKeyConstraint(["prospect_id"], ["prospects.id"]),
        sa.ForeignKeyConstraint(["test_id"], ["ab_tests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("test_id", "prospect_id"),
    )
