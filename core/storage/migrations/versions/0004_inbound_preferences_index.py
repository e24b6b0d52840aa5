"""An index for the prospects' observed preferred channels.

- ``ix_messages_inbound_channel``: one tenant's incoming messages and calls, by prospect and
  channel, then time (partial: the outgoing half of the messages is left out, so sending pays
  nothing for it). ``Analytics.preferred_channels`` counts them per prospect and channel in
  index order, without sorting a year of messages.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INBOUND = "direction = 'inbound' AND kind IN ('message', 'call')"


def upgrade() -> None:
    op.create_index(
        "ix_messages_inbound_channel",
        "messages",
        ["tenant_id", "prospect_id", "channel_type", "created_at"],
        unique=False,
        sqlite_where=sa.text(INBOUND),
        postgresql_where=sa.text(INBOUND),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_inbound_channel", table_name="messages")
