"""Campaign variables and indexes for channel analytics.

- ``campaigns.variables``: template values shared by every prospect of a campaign.
- ``channel_analytics.details``: the counters of a daily rollup per channel (JSON), so that a
  year of statistics reads a few hundred rows instead of every message.
- ``ix_messages_tenant_created``: statistics read one tenant's messages of a period.

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
    with op.batch_alter_table("channel_analytics", schema=None) as batch_op:
        batch_op.add_column(sa.Column("details", JSON, nullable=True))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_tenant_created", ["tenant_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("channel_analytics", schema=None) as batch_op:
        batch_op.drop_column("details")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_tenant_created")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("variables")
