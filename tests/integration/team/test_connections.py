"""Bounded PostgreSQL connections: pools sized by role, idle connections given back."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from core.config.settings import DatabaseSettings, load_settings
from core.storage.database import Database
from tests.integration.team.helpers import until

pytestmark = pytest.mark.postgres


async def _pid(db: Database) -> int:
    async with db.session() as session:
        return (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()


async def _alive(db: Database, pid: int) -> bool:
    async with db.engine.connect() as conn:
        found = await conn.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
        )
        return found.scalar_one() == 1


async def test_an_idle_connection_is_closed_and_the_next_query_opens_one(pg_schema) -> None:
    db = await Database.open(
        pg_schema.base_url,
        idle_seconds=0.2,
        pool_size=1,
        max_overflow=0,
        **pg_schema.engine_options,
    )
    watcher = await Database.open(pg_schema.base_url, **pg_schema.engine_options)
    try:
        first = await _pid(db)
        await until(lambda: db.idle.closed == 1, timeout=5)
        # The server's backend ends a moment after the client closed (on a loaded machine the
        # next query could still see it): it must be gone within the same bound.
        async with asyncio.timeout(5):
            while await _alive(watcher, first):
                await asyncio.sleep(0.02)
        second = await _pid(db)  # works at once, on a fresh connection
        assert second != first
    finally:
        await db.close()
        await watcher.close()


async def test_a_connection_in_use_is_never_closed_for_idleness(pg_schema) -> None:
    db = await Database.open(
        pg_schema.base_url,
        idle_seconds=0.1,
        pool_size=1,
        max_overflow=1,
        **pg_schema.engine_options,
    )
    try:
        async with db.session() as session:
            pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await _pid(db)  # a second connection comes and goes meanwhile
            await asyncio.sleep(0.4)
            again = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert again == pid
    finally:
        await db.close()


def test_pool_sizes_follow_the_role_and_the_settings(monkeypatch) -> None:
    app = DatabaseSettings().engine_options("app")
    relay = DatabaseSettings().engine_options("relay")
    assert (app["pool_size"], app["max_overflow"], app["pool_pre_ping"]) == (1, 1, True)
    assert (relay["pool_size"], relay["pool_pre_ping"]) == (3, False)
    assert (DatabaseSettings().idle_for("app"), DatabaseSettings().idle_for("relay")) == (3.0, 10.0)
    assert DatabaseSettings(idle_seconds=0).idle_for("app") is None  # kept open
    assert DatabaseSettings(idle_seconds=20).idle_for("app") == 20
    monkeypatch.setenv("COCCINELLE_DATABASE__POOL_SIZE", "4")
    monkeypatch.setenv("COCCINELLE_DATABASE__PRE_PING", "true")
    settings = load_settings()
    assert settings.database.engine_options("relay")["pool_size"] == 4
    assert settings.database.engine_options("relay")["pool_pre_ping"] is True


def test_the_live_link_can_connect_elsewhere_than_the_pools() -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from core.team.pg_listen import listener_params

    db = Database(create_async_engine("postgresql+asyncpg://agent@pgbouncer.local:6432/agence"))
    assert listener_params(db)["port"] == 6432
    db.listen_url = "postgresql+asyncpg://agent@db.local:5432/agence"
    assert (listener_params(db)["host"], listener_params(db)["port"]) == ("db.local", 5432)
