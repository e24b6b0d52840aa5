"""A throw-away PostgreSQL database for the measurements of team mode (``COCCINELLE_BENCH_PG_URL``,
or ``COCCINELLE_TEST_PG_URL``: a URL whose user may create databases)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from core.bench.context import Unavailable


def server_url() -> str:
    """The PostgreSQL server's URL from the environment.

    Raises:
        Unavailable: none is set.
    """
    base = os.environ.get("COCCINELLE_BENCH_PG_URL") or os.environ.get("COCCINELLE_TEST_PG_URL")
    if not base:
        raise Unavailable("set COCCINELLE_BENCH_PG_URL to a PostgreSQL server")
    return base


@contextlib.asynccontextmanager
async def fresh_database(base: str, purpose: str) -> AsyncIterator[str]:
    """A new database on ``base``'s server for the block (its URL), dropped afterwards."""
    name = f"coccinelle_bench_{purpose}_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(base, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        await admin.dispose()
        raise Unavailable(f"cannot create a database on {make_url(base).host}: {exc}") from None
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
