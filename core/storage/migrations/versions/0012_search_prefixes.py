"""Prefix indexes for one- and two-letter searches (SQLite FTS5 ``prefix='1 2'``).

Search as you type asks for "m*" after the first key: without a prefix index FTS5 merges the
lists of every word starting with m (60–110 ms on a million messages); with one it reads one
list (about 2 ms). The tables are external-content, so they are dropped, created again with the
option and rebuilt from ``messages`` and ``prospects`` (about 17 s for a million messages); the
triggers that keep them up to date name the tables and stay as they are. PostgreSQL's GIN
index answers prefixes itself: nothing changes there.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_TABLES = {
    "messages_fts": "subject, content, content='messages', content_rowid='id'",
    "prospects_fts": "display_name, email, content='prospects', content_rowid='id'",
}


def _recreate(prefix: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in _TABLES.items():
        op.execute(f"DROP TABLE IF EXISTS {table}")
        op.execute(
            f"CREATE VIRTUAL TABLE {table} USING fts5({columns}, "
            f"tokenize='unicode61 remove_diacritics 2'{prefix})"
        )
        op.execute(f"INSERT INTO {table}({table}) VALUES('rebuild')")


def upgrade() -> None:
    _recreate(", prefix='1 2'")


def downgrade() -> None:
    _recreate("")
