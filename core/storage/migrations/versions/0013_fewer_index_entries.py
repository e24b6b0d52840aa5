"""Fewer index entries written per message, conversation and outbox row (issue 17).

A broadcast writes a message, an outbox row and most often a conversation per prospect; every
index of those tables takes an entry for each. Two kinds of them answered nothing:

- the single-column tenant indexes of ``messages``, ``conversations`` and ``outbox``:
  ``ix_messages_tenant_created`` and the inbox's ``ix_conv_*`` indexes start with
  ``tenant_id`` already, and the outbox is read by status, broadcast, appointment or key, never
  by tenant alone (on SQLite, which plans without statistics, that index was the wrong choice
  wherever it was eligible: ``core.storage.planner``). Deleting a tenant reads these tables
  whole instead;
- the indexes of a nullable reference that nearly every row leaves empty
  (``conversations.switched_from_id``, ``outbox.appointment_id``): they are read by equality,
  which a partial index of the rows that have one answers.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_TENANT = ("messages", "conversations", "outbox")
#: index name: (table, the nullable reference it holds)
_PARTIAL = {
    "ix_conv_switched_from": ("conversations", "switched_from_id"),
    "ix_outbox_appointment": ("outbox", "appointment_id"),
}


def upgrade() -> None:
    for table in _TENANT:
        op.drop_index(f"ix_{table}_tenant_id", table_name=table)
    for name, (table, column) in _PARTIAL.items():
        where = sa.text(f"{column} IS NOT NULL")
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [column], sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for name, (table, column) in _PARTIAL.items():
        op.drop_index(name, table_name=table)
        op.create_index(name, table, [column])
    for table in _TENANT:
        op.create_index(f"ix_{table}_tenant_id", table, ["tenant_id"])
