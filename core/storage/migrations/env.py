"""Alembic environment: always run with a connection handed over by ``core.storage.migrate``."""

from __future__ import annotations

from alembic import context

from core.storage.tables import Base, postgresql_indexes

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `coccinelle db upgrade`")

if connection.dialect.name == "postgresql":
    postgresql_indexes()
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
