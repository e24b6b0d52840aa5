"""The inbox's priority index without ``last_message_at`` (issue 17).

Each message added to a conversation moves the conversation's entry in every index that holds
``last_message_at``: a broadcast that writes to 30,000 existing conversations moved five
entries each, on scattered pages (half of the pages a broadcast chunk writes). The priority
sort orders by priority ascending then ``last_message_at`` descending: SQLite reads
``ix_conv_priority`` by tenant and priority and sorts each priority's rows by time itself
("USE TEMP B-TREE FOR RIGHT PART OF ORDER BY") whether the index holds the time or not, so
the index keeps (tenant, priority) only and an outbound message no longer moves its entry.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_conv_priority", table_name="conversations")
    op.create_index("ix_conv_priority", "conversations", ["tenant_id", "priority"])


def downgrade() -> None:
    op.drop_index("ix_conv_priority", table_name="conversations")
    op.create_index(
        "ix_conv_priority", "conversations", ["tenant_id", "priority", "last_message_at", "id"]
    )
