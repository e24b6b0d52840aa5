"""The month's spending kept as a running total, instead of summed over the messages.

- ``spend_daily``: per tenant and UTC day (days since 1970-01-01), the cost of the outgoing
  messages created that day, in micro-euros. Triggers keep it equal to
  ``SUM(messages.cost_micros)`` of the outgoing messages on every insert, delete and change of
  cost, direction, time or tenant (a send's cost arrives with its result or a status callback).
  ``core.orchestrator.loader.month_spending`` adds the whole days of the month from here and
  sums the messages only for the partial first day (a month starts at local midnight).
- Existing messages are summed into it once.

Revision ID: 0009
Revises: 0008 (chain it after any other migration that lands first)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_COUNTS = "{row}.direction = 'outbound' AND {row}.cost_micros IS NOT NULL"
_SQLITE_DAY = "CAST(julianday({row}.created_at) - 2440587.5 AS INTEGER)"
_SQLITE_ADD = f"""
    INSERT INTO spend_daily(tenant_id, day, spent_micros)
    SELECT {{row}}.tenant_id, {_SQLITE_DAY}, {{sign}}{{row}}.cost_micros WHERE {_COUNTS}
    ON CONFLICT(tenant_id, day)
    DO UPDATE SET spent_micros = spent_micros + excluded.spent_micros;"""
_COLUMNS = "cost_micros, direction, created_at, tenant_id"
_SQLITE = [
    f"""CREATE TRIGGER spend_daily_ai AFTER INSERT ON messages WHEN {_COUNTS.format(row="new")}
    BEGIN {_SQLITE_ADD.format(row="new", sign="")} END""",
    f"""CREATE TRIGGER spend_daily_au AFTER UPDATE OF {_COLUMNS} ON messages
    WHEN {_COUNTS.format(row="new")} OR {_COUNTS.format(row="old")} BEGIN
    {_SQLITE_ADD.format(row="old", sign="-")}
    {_SQLITE_ADD.format(row="new", sign="")}
    END""",
    f"""CREATE TRIGGER spend_daily_ad AFTER DELETE ON messages WHEN {_COUNTS.format(row="old")}
    BEGIN {_SQLITE_ADD.format(row="old", sign="-")} END""",
]
_PG_DAY = "floor(extract(epoch FROM {row}.created_at) / 86400)::bigint"
_PG_ADD = f"""
        IF {_COUNTS} THEN
            INSERT INTO spend_daily(tenant_id, day, spent_micros)
            VALUES ({{row}}.tenant_id, {_PG_DAY}, {{sign}}{{row}}.cost_micros)
            ON CONFLICT (tenant_id, day)
            DO UPDATE SET spent_micros = spend_daily.spent_micros + excluded.spent_micros;
        END IF;"""
_PG = [
    f"""CREATE FUNCTION spend_daily_message() RETURNS trigger AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN {_PG_ADD.format(row="OLD", sign="-")}
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN {_PG_ADD.format(row="NEW", sign="")}
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    f"""CREATE TRIGGER spend_daily_message
    AFTER INSERT OR DELETE OR UPDATE OF {_COLUMNS} ON messages
    FOR EACH ROW EXECUTE FUNCTION spend_daily_message()""",
]
_BACKFILL = """INSERT INTO spend_daily(tenant_id, day, spent_micros)
    SELECT tenant_id, {day}, SUM(cost_micros) FROM messages m
    WHERE direction = 'outbound' AND cost_micros IS NOT NULL GROUP BY 1, 2"""


def upgrade() -> None:
    op.create_table(
        "spend_daily",
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("spent_micros", ID, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "day", name="pk_spend_daily"),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    day = (_SQLITE_DAY if sqlite else _PG_DAY).format(row="m")
    op.execute(_BACKFILL.format(day=day))
    for statement in _SQLITE if sqlite else _PG:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("spend_daily_ai", "spend_daily_au", "spend_daily_ad"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS spend_daily_message ON messages")
        op.execute("DROP FUNCTION IF EXISTS spend_daily_message()")
    op.drop_table("spend_daily")
