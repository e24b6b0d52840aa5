"""A channel may be carried by several providers at once (WhatsApp on Twilio and on Meta).

``channels``: UNIQUE(tenant_id, channel_type) becomes UNIQUE(tenant_id, channel_type, provider),
named ``uq_channels_tenant_channel_provider``.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

NEW = "uq_channels_tenant_channel_provider"
#: The name PostgreSQL gave the unnamed constraint of 0001.
OLD_PG = "channels_tenant_id_channel_type_key"


ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _table(*unique: str, name: str | None) -> sa.Table:
    """``channels`` as 0001 created it, with ``unique`` as its unique constraint."""
    return sa.Table(
        "channels",
        sa.MetaData(),
        sa.Column("id", ID, primary_key=True),
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("channel_type", sa.String(20), nullable=False),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("credentials_ref", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE"),
        sa.UniqueConstraint(*unique, name=name),
        sa.Index("ix_channels_tenant_id", "tenant_id"),
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(OLD_PG, "channels", type_="unique")
        op.create_unique_constraint(NEW, "channels", ["tenant_id", "channel_type", "provider"])
        return
    table = _table("tenant_id", "channel_type", "provider", name=NEW)
    with op.batch_alter_table("channels", copy_from=table, recreate="always"):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(NEW, "channels", type_="unique")
        op.create_unique_constraint(OLD_PG, "channels", ["tenant_id", "channel_type"])
        return
    table = _table("tenant_id", "channel_type", name=None)
    with op.batch_alter_table("channels", copy_from=table, recreate="always"):
        pass
