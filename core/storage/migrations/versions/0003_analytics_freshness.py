"""Channel analytics kept fresh: when an appointment was confirmed, and which days changed.

- ``appointments.confirmed_at``: the (injected-clock) time an appointment was confirmed, which
  conversions are counted from. Existing confirmed or done appointments get their last change.
- ``analytics_stale``: the UTC days (as days since 1970-01-01) whose stored rollups no longer
  match the messages. Triggers fill it on every write that can change a day's counters, so that
  a late status event, a reply or a confirmation days later reaches the statistics:

  * a counted message (kind message or call) inserted, deleted, or whose status, times, cost,
    segments or metadata change: its own day, and the days of the prospect's outgoing messages
    of the ``LOOKBACK`` before it (the message may answer one of them, or change which of them
    a confirmation is credited to);
  * an appointment confirmed (or no longer confirmed): the days of the prospect's outgoing
    messages of the ``LOOKBACK`` before the confirmation.

  ``LOOKBACK`` is ``core.analytics.aggregate.LOOKBACK`` (seven days; a test keeps them equal).
- ``ix_analytics_daily``: the daily rollups of a tenant, read by day.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

LOOKBACK_DAYS = 7
COUNTED = "('message', 'call')"
_MESSAGE_COLUMNS = (
    "status, sent_at, delivered_at, read_at, failed_at, cost_micros, segments, metadata,"
    " created_at, direction, channel_type, prospect_id"
)
_SQLITE_DAY = "CAST(julianday({}) - 2440587.5 AS INTEGER)"
_SQLITE_OUTGOING = f"""
    INSERT OR IGNORE INTO analytics_stale(tenant_id, day)
    SELECT m.tenant_id, {_SQLITE_DAY.format("m.created_at")} FROM messages m
    WHERE m.prospect_id = {{row}}.prospect_id AND m.kind IN {COUNTED}
      AND m.created_at >= datetime({{at}}, '-{LOOKBACK_DAYS} days') AND m.created_at <= {{at}}
      AND (m.direction = 'outbound'{{itself}});"""
_OLD_CONFIRMED = "coalesce(old.confirmed_at, new.confirmed_at)"
_NEW_CONFIRMED = "coalesce(new.confirmed_at, old.confirmed_at)"
_SQLITE = [
    f"""CREATE TRIGGER analytics_stale_message_ai AFTER INSERT ON messages
    WHEN new.kind IN {COUNTED} BEGIN
    {_SQLITE_OUTGOING.format(row="new", at="new.created_at", itself=" OR m.id = new.id")}
    END""",
    f"""CREATE TRIGGER analytics_stale_message_au AFTER UPDATE OF {_MESSAGE_COLUMNS} ON messages
    WHEN new.kind IN {COUNTED} OR old.kind IN {COUNTED} BEGIN
    INSERT OR IGNORE INTO analytics_stale(tenant_id, day)
    VALUES (old.tenant_id, {_SQLITE_DAY.format("old.created_at")});
    {_SQLITE_OUTGOING.format(row="new", at="new.created_at", itself=" OR m.id = new.id")}
    END""",
    f"""CREATE TRIGGER analytics_stale_message_ad AFTER DELETE ON messages
    WHEN old.kind IN {COUNTED} BEGIN
    INSERT OR IGNORE INTO analytics_stale(tenant_id, day)
    VALUES (old.tenant_id, {_SQLITE_DAY.format("old.created_at")});
    {_SQLITE_OUTGOING.format(row="old", at="old.created_at", itself="")}
    END""",
    f"""CREATE TRIGGER analytics_stale_appointment_ai AFTER INSERT ON appointments
    WHEN new.confirmed_at IS NOT NULL BEGIN
    {_SQLITE_OUTGOING.format(row="new", at="new.confirmed_at", itself="")}
    END""",
    f"""CREATE TRIGGER analytics_stale_appointment_au
    AFTER UPDATE OF status, confirmed_at, prospect_id ON appointments
    WHEN new.confirmed_at IS NOT NULL OR old.confirmed_at IS NOT NULL BEGIN
    {_SQLITE_OUTGOING.format(row="old", at=_OLD_CONFIRMED, itself="")}
    {_SQLITE_OUTGOING.format(row="new", at=_NEW_CONFIRMED, itself="")}
    END""",
]

_PG_DAY = "floor(extract(epoch FROM {}) / 86400)::bigint"
_PG_OUTGOING = f"""
        INSERT INTO analytics_stale(tenant_id, day)
        SELECT DISTINCT m.tenant_id, {_PG_DAY.format("m.created_at")} FROM messages m
        WHERE m.prospect_id = prospect AND m.kind IN {COUNTED}
          AND m.created_at >= moment - interval '{LOOKBACK_DAYS} days' AND m.created_at <= moment
          AND (m.direction = 'outbound' OR m.id = itself)
        ON CONFLICT DO NOTHING;"""
_PG = [
    f"""CREATE FUNCTION analytics_stale_outgoing(prospect bigint, moment timestamptz,
        itself bigint) RETURNS void AS $$
    BEGIN {_PG_OUTGOING}
    END $$ LANGUAGE plpgsql""",
    f"""CREATE FUNCTION analytics_stale_message() RETURNS trigger AS $$
    BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.kind IN {COUNTED} THEN
            INSERT INTO analytics_stale(tenant_id, day)
            VALUES (OLD.tenant_id, {_PG_DAY.format("OLD.created_at")}) ON CONFLICT DO NOTHING;
            PERFORM analytics_stale_outgoing(OLD.prospect_id, OLD.created_at, NULL);
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.kind IN {COUNTED} THEN
            PERFORM analytics_stale_outgoing(NEW.prospect_id, NEW.created_at, NEW.id);
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    f"""CREATE TRIGGER analytics_stale_message
    AFTER INSERT OR DELETE OR UPDATE OF {_MESSAGE_COLUMNS} ON messages
    FOR EACH ROW EXECUTE FUNCTION analytics_stale_message()""",
    """CREATE FUNCTION analytics_stale_appointment() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND OLD.confirmed_at IS NOT NULL THEN
            PERFORM analytics_stale_outgoing(OLD.prospect_id, OLD.confirmed_at, NULL);
        END IF;
        IF NEW.confirmed_at IS NOT NULL THEN
            PERFORM analytics_stale_outgoing(NEW.prospect_id, NEW.confirmed_at, NULL);
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER analytics_stale_appointment
    AFTER INSERT OR UPDATE OF status, confirmed_at, prospect_id ON appointments
    FOR EACH ROW EXECUTE FUNCTION analytics_stale_appointment()""",
]
_PG_DROP = [
    "DROP TRIGGER IF EXISTS analytics_stale_appointment ON appointments",
    "DROP TRIGGER IF EXISTS analytics_stale_message ON messages",
    "DROP FUNCTION IF EXISTS analytics_stale_appointment()",
    "DROP FUNCTION IF EXISTS analytics_stale_message()",
    "DROP FUNCTION IF EXISTS analytics_stale_outgoing(bigint, timestamptz, bigint)",
]
_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS analytics_stale_message_ai",
    "DROP TRIGGER IF EXISTS analytics_stale_message_au",
    "DROP TRIGGER IF EXISTS analytics_stale_message_ad",
    "DROP TRIGGER IF EXISTS analytics_stale_appointment_ai",
    "DROP TRIGGER IF EXISTS analytics_stale_appointment_au",
]


def upgrade() -> None:
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE appointments SET confirmed_at = updated_at WHERE status IN ('confirmed', 'done')"
    )
    op.create_table(
        "analytics_stale",
        sa.Column("tenant_id", ID, nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "day", name="pk_analytics_stale"),
    )
    with op.batch_alter_table("channel_analytics", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analytics_daily", ["tenant_id", "metric_type", "recorded_at"], unique=False
        )
    for statement in _SQLITE if op.get_bind().dialect.name == "sqlite" else _PG:
        op.execute(statement)


def downgrade() -> None:
    for statement in _SQLITE_DROP if op.get_bind().dialect.name == "sqlite" else _PG_DROP:
        op.execute(statement)
    with op.batch_alter_table("channel_analytics", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_daily")
    op.drop_table("analytics_stale")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_column("confirmed_at")
