"""Inbound events that fail are retried with backoff, then parked where an operator sees them.

- ``inbound_events.next_attempt_at``: when a failed event is tried again (NULL: now).
- Events left ``failed`` by earlier versions (never retried) become ``parked``: they are listed
  by ``coccinelle events failed`` and in the app, and ``retry`` applies them again.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE inbound_events SET status = 'parked' WHERE status = 'failed'")


def downgrade() -> None:
    op.execute("UPDATE inbound_events SET status = 'failed' WHERE status = 'parked'")
    with op.batch_alter_table("inbound_events", schema=None) as batch_op:
        batch_op.drop_column("next_attempt_at")
