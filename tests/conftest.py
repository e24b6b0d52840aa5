"""Shared fixtures: a migrated database on SQLite (always) and PostgreSQL (when available).

``COCCINELLE_TEST_PG_URL`` names a PostgreSQL database; each test gets a fresh schema in it,
dropped afterwards. Without the variable the PostgreSQL variants are skipped with that reason.

``COCCINELLE_TEST_NOW`` (or ``--now``), an ISO date-time with its offset, moves the wall clock
of the whole session there (time-machine, still ticking): CI runs the time-sensitive tests at
03:00 and at 14:00 Paris this way, so a test that forgot to pin its clock fails at any hour.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import keyring
import pytest
import time_machine
from sqlalchemy import event, make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from core.service import InboxService
from core.storage import migrate
from core.storage.database import Database, sqlite_url
from tests.memory_keyring import MemoryKeyring

#: An xdist worker ("gw0", "gw1"…) gets a PostgreSQL database of its own, ``<db>_gw0``…, made by
#: ``_worker_pg_database``: two workers never share the database-wide state (advisory locks,
#: LISTEN/NOTIFY channels, ``pg_stat_activity`` counts) a test may look at.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_BASE_PG_URL = os.environ.get("COCCINELLE_TEST_PG_URL")


def _worker_url(base: str | None, worker: str) -> str | None:
    """The URL this process's tests use: ``base``, or its ``<db>_<worker>`` sibling."""
    if not base or not worker:
        return base
    url = make_url(base)
    return url.set(database=f"{url.database}_{worker}").render_as_string(hide_password=False)


PG_URL = _worker_url(_BASE_PG_URL, _WORKER)
if PG_URL:
    os.environ["COCCINELLE_TEST_PG_URL"] = PG_URL  # sub-processes and core.bench read it there
#: Environment variables the isolation fixture keeps (they configure the test run itself).
KEPT_ENV = ("COCCINELLE_TEST_PG_URL", "COCCINELLE_TEST_NOW", "COCCINELLE_CHAOS_LONG")


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--chaos-long``: the long run of the chaos test (CI runs the short default)."""
    parser.addoption(
        "--chaos-long",
        action="store_true",
        default=False,
        help="run the chaos test (tests/hardening/test_chaos.py) with many more rounds",
    )
    parser.addoption(
        "--now",
        default=os.environ.get("COCCINELLE_TEST_NOW", ""),
        help="ISO date-time (with offset) the session's wall clock starts at "
        "(default: $COCCINELLE_TEST_NOW, else the real time)",
    )


@pytest.fixture(autouse=True, scope="session")
def _session_clock(request: pytest.FixtureRequest) -> Iterator[None]:
    """Travel the wall clock to ``--now`` for the session (a test pinning its own wins)."""
    now = request.config.getoption("--now")
    if not now:
        yield
        return
    start = datetime.fromisoformat(now)
    if start.tzinfo is None:
        raise pytest.UsageError("--now / COCCINELLE_TEST_NOW needs an offset, e.g. +01:00")
    with time_machine.travel(start, tick=True):
        yield


async def _recreate_database(admin_url: str, name: str, *, create: bool) -> None:
    """Drop the database ``name`` (left by an interrupted run) and, if ``create``, make it anew."""
    admin = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if create:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()


@pytest.fixture(autouse=True, scope="session")
def _worker_pg_database() -> Iterator[None]:
    """Under xdist, this worker's own PostgreSQL database for the session (dropped after)."""
    if not (_WORKER and _BASE_PG_URL and PG_URL):
        yield
        return
    import asyncio

    name = make_url(PG_URL).database
    assert name
    asyncio.run(_recreate_database(_BASE_PG_URL, name, create=True))
    try:
        yield
    finally:
        asyncio.run(_recreate_database(_BASE_PG_URL, name, create=False))


needs_pg = pytest.mark.skipif(not PG_URL, reason="COCCINELLE_TEST_PG_URL is not set")


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never read the developer's own config file, data dir or keyring."""
    monkeypatch.setenv("COCCINELLE_CONFIG_FILE", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("COCCINELLE_DATA_DIR", str(tmp_path / "data"))
    for name in list(os.environ):
        if name.startswith("ORCHESTRATOR_") or (
            name.startswith("COCCINELLE_")
            and name not in KEPT_ENV
            and name not in ("COCCINELLE_CONFIG_FILE", "COCCINELLE_DATA_DIR")
        ):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _restored_logging() -> Iterator[None]:
    """A test that runs a command which sets up logging (``coccinelle relay``, ``channel``…)
    leaves no handler behind on a stream pytest has since closed."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    logging.captureWarnings(False)


@pytest.fixture(autouse=True)
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    """An in-memory keyring for this process; sub-processes get keyring's "fail" backend."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


#: A migrated SQLite file per test session (per xdist worker): tests copy it.
_sqlite_template: Path | None = None


async def open_sqlite(tmp_path: Path) -> Database:
    """A fresh, migrated SQLite database in ``tmp_path``.

    The migrations run once per session, into a template file each test copies: migrating a
    fresh file costs about 15 times as much as copying one (the migrations themselves are tested
    by tests/unit/test_storage.py and tests/unit/storage).
    """
    global _sqlite_template
    if _sqlite_template is None:
        folder = tempfile.mkdtemp(prefix="coccinelle-template-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        template = Path(folder) / "template.db"
        await (await Database.open(sqlite_url(template))).close()
        _sqlite_template = template
    path = tmp_path / "test.db"
    shutil.copyfile(_sqlite_template, path)
    return await Database.open(sqlite_url(path))


class PgSchema:
    """A throw-away PostgreSQL schema; ``url`` and ``engine_options`` open it."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.name = f"t_{uuid.uuid4().hex[:12]}"
        self.engine_options = {"connect_args": {"server_settings": {"search_path": self.name}}}

    async def create(self) -> None:
        engine = create_async_engine(self.base_url)
        async with engine.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{self.name}"'))
        await engine.dispose()

    async def drop(self) -> None:
        engine = create_async_engine(self.base_url)
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
        await engine.dispose()

    async def open(self) -> Database:
        """A handle on the schema, migrated (see ``_migrate_pg_schema``)."""
        await _migrate_pg_schema(self)
        return await Database.open(self.base_url, **self.engine_options)


#: The statements the migrations sent PostgreSQL in a fresh schema, recorded once per session.
_pg_migration: list[tuple[str, Any]] | None = None


async def _migrate_pg_schema(schema: PgSchema) -> None:
    """Migrate ``schema`` (created, empty) to the head revision.

    The first time, Alembic does it and the statements it sends are recorded; afterwards they are
    replayed in one transaction, without Alembic's reflection round trips. The migrations write
    only unqualified names, so the replay lands in ``schema`` (its ``search_path``).
    """
    global _pg_migration
    engine = create_async_engine(schema.base_url, **schema.engine_options)
    try:
        async with engine.connect() as conn:
            if await conn.run_sync(migrate.stored_revision) is not None:
                return  # opened before: Database.open upgrades it if need be
        if _pg_migration is None:
            recorded: list[tuple[str, Any]] = []

            def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
                if not statement.lstrip().upper().startswith("SELECT"):
                    recorded.append((statement, parameters))

            event.listen(engine.sync_engine, "before_cursor_execute", record)
            async with engine.begin() as conn:
                await conn.run_sync(migrate.upgrade_if_needed)
            event.remove(engine.sync_engine, "before_cursor_execute", record)
            _pg_migration = recorded
            return
        async with engine.begin() as conn:
            for statement, parameters in _pg_migration:
                await conn.exec_driver_sql(statement, parameters)
    finally:
        await engine.dispose()


@pytest.fixture
async def pg_schema() -> AsyncIterator[PgSchema]:
    """A fresh PostgreSQL schema (skips without COCCINELLE_TEST_PG_URL)."""
    if not PG_URL:
        pytest.skip("COCCINELLE_TEST_PG_URL is not set")
    schema = PgSchema(PG_URL)
    await schema.create()
    try:
        yield schema
    finally:
        await schema.drop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated database, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        database = await open_sqlite(tmp_path)
        try:
            yield database
        finally:
            await database.close()
        return
    if not PG_URL:
        pytest.skip("COCCINELLE_TEST_PG_URL is not set")
    schema = PgSchema(PG_URL)
    await schema.create()
    database = await schema.open()
    try:
        yield database
    finally:
        await database.close()
        await schema.drop()


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated SQLite database only."""
    database = await open_sqlite(tmp_path)
    try:
        yield database
    finally:
        await database.close()


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 10, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock starting on Tuesday 10 March 2026, 10:00 UTC."""
    return FakeClock()


@pytest.fixture
async def service(db: Database, clock: FakeClock) -> InboxService:
    """The facade on a fresh database (both engines), with the fake clock.

    The tenant has filled in its company details (those of the demo agency, which many
    assertions quote); a fresh tenant's are empty (tests/integration/relay/test_neutral_tenant.py).
    """
    from core.demo.company import demo_settings_update
    from core.storage import tables as t

    service = await InboxService.connect(db, "acme", clock=clock)
    settings = await service.tenant_settings.get()
    update = demo_settings_update()
    filled = settings.model_copy(update=update).model_dump(mode="json")
    async with db.session() as session:  # as set up before the test: no audit entry
        tenant = await session.get(t.TenantRow, service.ctx.tenant_id)
        # only those fields: what the tenant did not set (its quiet hours…) stays unset
        tenant.settings = {**(tenant.settings or {}), **{k: filled[k] for k in update}}
    return service
