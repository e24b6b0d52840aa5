"""Recreating the demo data, without ever erasing a database that is not a demo database.

A database counts as demo data when every tenant in it carries the demo marker (an audit-log
row written by the seeder). An empty database has nothing to lose. Anything else — a real
agency's data, another program's SQLite file — is refused before anything is written.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, inspect, select
from sqlalchemy.engine import make_url

from core.demo.seeder import DEFAULT_SEED, DEMO_MARKER, DEMO_TENANT, DemoSummary, seed_demo
from core.errors import CoccinelleError
from core.storage import tables as t
from core.storage.database import Database
from core.storage.tenants import DEMO_STARTED, no_tenant_yet, unfinished_demo


class DemoResetRefused(CoccinelleError):
    """The database holds something other than demo data; nothing was changed."""

    def __init__(self, location: str) -> None:
        self.location = location
        super().__init__(
            f"{location} is not a demo database; refusing to erase it. "
            "Use --database-url to point at another file."
        )


async def is_demo_database(db: Database) -> bool:
    """Whether ``db`` is empty or holds only tenants the demo seeder marked (when it started:
    a seeding cut short is demo data too)."""
    async with db.session() as session:
        tenants = (await session.execute(select(t.TenantRow.id))).scalars().all()
        marked = (
            (
                await session.execute(
                    select(t.AuditLogRow.tenant_id).where(
                        t.AuditLogRow.action.in_((DEMO_STARTED, DEMO_MARKER))
                    )
                )
            )
            .scalars()
            .all()
        )
    return set(tenants) <= set(marked)


async def is_empty(db: Database) -> bool:
    """Whether no tenant exists yet (a database just created)."""
    return await no_tenant_yet(db)


async def seed_if_empty(db: Database, tenant: str = DEMO_TENANT) -> DemoSummary | None:
    """Seed the demo data if the database has no tenant yet (the first start in demo mode), or
    seed it again if its seeding was cut short (the first start quit while it seeded)."""
    if await unfinished_demo(db):
        await erase(db)
    elif not await is_empty(db):
        return None
    return await seed_demo(db, tenant=tenant)


async def reset_demo(
    url: str,
    *,
    tenant: str = DEMO_TENANT,
    now: datetime | None = None,
    seed: int = DEFAULT_SEED,
    **engine_options: Any,
) -> tuple[str, DemoSummary]:
    """Erase the demo database at ``url`` and seed it again; returns (location, summary).

    Raises:
        DemoResetRefused: the database is not a demo database (nothing is changed).
        StorageError: the database cannot be opened (not a database, too new…).
    """
    if _foreign_sqlite_file(url):
        raise DemoResetRefused(make_url(url).database or url)
    db = await Database.open(url, upgrade=False, **engine_options)
    try:
        if await _foreign_tables(db):
            raise DemoResetRefused(db.location)
        await db.upgrade()
        if not await is_demo_database(db):
            raise DemoResetRefused(db.location)
        await erase(db)
        return db.location, await seed_demo(db, tenant=tenant, now=now, seed=seed)
    finally:
        await db.close()


def _foreign_sqlite_file(url: str) -> bool:
    """Whether ``url`` is an SQLite file of another program, checked read-only.

    Opening it through ``Database`` would already switch it to WAL; this look changes nothing.
    A file SQLite cannot read is left to ``Database.open``, which names it clearly.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return False
    path = Path(parsed.database)
    if not path.is_file():
        return False
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError:
        return False
    return bool(names) and "alembic_version" not in names


async def _foreign_tables(db: Database) -> bool:
    """Whether the database has tables but none of ours (another program's file)."""
    async with db.engine.connect() as conn:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    return bool(names) and "alembic_version" not in names


async def erase(db: Database) -> None:
    """Delete every row of every table (the schema and its version stay)."""
    async with db.session() as session:
        for table in reversed(t.Base.metadata.sorted_tables):
            await session.execute(delete(table))
