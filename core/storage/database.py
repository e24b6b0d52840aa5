"""The database handle: engine, sessions, SQLite pragmas and schema upgrades.

Nothing here is global: ``Database.open`` is called at start and the handle is passed down.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DatabaseError,
    DBAPIError,
    IntegrityError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import InsertmanyvaluesSentinelOpts

from core.errors import NotADatabase, StorageError
from core.storage import migrate
from core.storage.gate import WriteGate

#: SQLite error texts → the ``storage.*`` message that explains them.
_SQLITE_FAULTS = (
    ("database or disk is full", "full"),
    ("disk is full", "full"),
    ("database is locked", "locked"),
    ("database table is locked", "locked"),
    ("malformed", "damaged"),
    ("not a database", "damaged"),
    ("disk i/o error", "io"),
    ("readonly database", "read_only"),
    ("unable to open database", "cannot_open"),
)


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of an SQLite file."""
    return f"sqlite+aiosqlite:///{path}"


#: How much of an SQLite file the app's connections read through a memory map (``PRAGMA
#: mmap_size``, ``Database.open(mapped=True)``). Reads that hop from page to page (a search's
#: two thousand matching messages, each looked up by id) otherwise copy each page from the
#: system's cache into SQLite's own 2 MB one, a system call per page: read in place, a search
#: key's statement takes about a fifth less CPU on the bench's large inbox. The pages are the
#: system's file cache, shared and dropped under pressure, but they count in the process's
#: resident size as they are touched: only the interactive app maps its file (the relay,
#: workers and command-line runs read as before).
MMAP_BYTES = 1 << 30


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


#: SQLite's default ``wal_autocheckpoint`` (pages), put back on a connection that
#: ``defer_checkpoints`` changed when it returns to the pool.
AUTOCHECKPOINT_PAGES = 1000
_DEFERRED = "coccinelle.checkpoints_deferred"


async def defer_checkpoints(session: AsyncSession, pages: int) -> None:
    """On SQLite, let the commits of ``session``'s transaction leave the WAL unchecked until
    it holds ``pages`` pages (SQLite's default: 1,000), so that a long run of large
    transactions (a broadcast's chunks) checkpoints every few of them instead of after each:
    a page written by several is copied back once, and the checkpoint's two syncs are paid
    once. The connection's default is put back when it returns to the pool, so no other
    writer inherits it. Nothing on PostgreSQL."""
    connection = await session.connection()
    if connection.dialect.name != "sqlite":
        return
    await connection.exec_driver_sql(f"PRAGMA wal_autocheckpoint={int(pages)}")
    (await connection.get_raw_connection()).info[_DEFERRED] = True


def _restore_checkpoints(dbapi_connection: Any, record: Any) -> None:
    """``defer_checkpoints`` undone on a connection returning to the pool."""
    if record.info.pop(_DEFERRED, False) and dbapi_connection is not None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA wal_autocheckpoint={AUTOCHECKPOINT_PAGES}")
        cursor.close()


def _on_mapped_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
    cursor.close()


def batch_sqlite_inserts(engine: AsyncEngine) -> None:
    """Let a flush insert many rows of one table in one ``INSERT … VALUES (…), (…) RETURNING id``
    on SQLite, as it does on PostgreSQL, instead of one statement per row.

    SQLAlchemy matches the returned ids to the flushed objects by sorting them, which needs the
    database to number the rows of one statement in their VALUES order. PostgreSQL is made to
    (``INSERT … SELECT … ORDER BY``); SQLite does it by itself: each row of a multi-row VALUES is
    inserted in turn and gets the next ``INTEGER PRIMARY KEY`` (the largest one plus one), so the
    ids are ascending in parameter order, which is what the ``AUTOINCREMENT`` setting (MySQL's)
    tells SQLAlchemy. SQLite's own dialect leaves it off because ``RETURNING`` rows may come
    back in any order; the sort takes care of that.
    """
    if engine.dialect.name == "sqlite":
        engine.dialect.insertmanyvalues_implicit_sentinel = (
            InsertmanyvaluesSentinelOpts.AUTOINCREMENT
        )


#: ``session.info`` keys: the event lists to announce with the commit, and whether it was done.
_TO_ANNOUNCE = "coccinelle.to_announce"
_ANNOUNCED = "coccinelle.announced"

#: Called inside a committing transaction with the events it changed (team mode's NOTIFY).
Announcer = Callable[[Session, Sequence[object]], None]


def announce_with_commit(session: AsyncSession, events: list[Any]) -> None:
    """Have ``events`` announced to other processes by the commit of ``session``'s transaction.

    ``events`` may still grow until the commit: what it holds then is announced. With team mode's
    live link (``Database.announcer``) the announcement is part of the transaction itself, so a
    committed change is always announced and a rolled-back one never is.
    """
    session.info.setdefault(_TO_ANNOUNCE, []).append(events)


def was_announced(session: AsyncSession) -> bool:
    """Whether ``session``'s last commit announced its events to other processes itself."""
    return bool(session.info.get(_ANNOUNCED))


#: The database kinds Coccinelle runs on, and the asyncio driver each needs.
DRIVERS = {"postgresql": "asyncpg", "sqlite": "aiosqlite"}


def parse_url(url: str) -> URL:
    """``url`` parsed, if it names a database Coccinelle can open.

    Raises:
        StorageError: not a URL, another database, or a driver that is not installed (e.g.
            ``postgresql://`` instead of ``postgresql+asyncpg://``); the message shows the URL
            without its password and how to write it.
    """
    from core.i18n import t

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageError(t("storage.url.unreadable")) from None
    backend = {"postgres": "postgresql"}.get(parsed.get_backend_name(), parsed.get_backend_name())
    shown = parsed.render_as_string(hide_password=True)
    if backend not in DRIVERS:
        raise StorageError(t("storage.url.unsupported", url=shown))
    if parsed.drivername != f"{backend}+{DRIVERS[backend]}":
        suggested = parsed.set(drivername=f"{backend}+{DRIVERS[backend]}")
        raise StorageError(
            t("storage.url.driver", url=shown, suggested=suggested.render_as_string(True))
        )
    return parsed


def _postgres_options(options: dict[str, Any], name: str | None) -> dict[str, Any]:
    """Team mode defaults: check pooled connections before use (a restarted server leaves
    stale ones), give up connecting after a while instead of hanging, and tell the server who
    we are (``application_name``, shown in ``pg_stat_activity``)."""
    options = dict(options)
    options.setdefault("pool_pre_ping", True)
    connect_args = dict(options.get("connect_args") or {})
    connect_args.setdefault("timeout", 10)
    if name:
        server_settings = dict(connect_args.get("server_settings") or {})
        server_settings.setdefault("application_name", name[:63])
        connect_args["server_settings"] = server_settings
    options["connect_args"] = connect_args
    return options


def _sqlite_options(options: dict[str, Any]) -> dict[str, Any]:
    """Connections whose second ``stop()`` cannot hang the process (``sqlite_driver``)."""
    from core.storage import sqlite_driver

    options = dict(options)
    options["connect_args"] = {
        "async_creator_fn": sqlite_driver.connect,
        **(options.get("connect_args") or {}),
    }
    return options


def _explain_postgres(url: Any, exc: BaseException) -> StorageError:
    """A message naming the server and the database, and what to do, for a failed connection."""
    from core.i18n import t

    where = {
        "host": url.host or "localhost",
        "port": url.port or 5432,
        "database": url.database or "",
        "user": url.username or "",
    }
    original = getattr(exc, "orig", None) or exc
    cause = getattr(original, "__cause__", None) or original
    state = getattr(cause, "sqlstate", None)
    if isinstance(cause, socket.gaierror):
        key = "unknown_host"
    elif isinstance(cause, asyncio.TimeoutError | TimeoutError):
        key = "timeout"
    elif isinstance(cause, OSError):
        key = "unreachable"
    elif state == "3D000":
        key = "unknown_database"
    elif state == "28P01":
        key = "wrong_password"
    elif state in ("28000", "42501"):
        key = "refused"
    elif state == "57P03":
        key = "starting"
    else:
        return StorageError(t("team.db.failed", reason=_first_line(cause), **where))
    return StorageError(t(f"team.db.{key}", **where))


def _first_line(exc: BaseException) -> str:
    text_ = str(exc).strip().splitlines()
    return text_[0] if text_ else type(exc).__name__


class Database:
    """An open database: an async engine and a session factory.

    Use ``await Database.open(url)``; ``await db.close()`` when done.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        batch_sqlite_inserts(engine)
        # A Session class of this database's own, so its commit hook stays with this database.
        session_class = type("CoccinelleSession", (Session,), {})
        event.listen(session_class, "before_commit", self._before_commit)
        self.sessions = async_sessionmaker(
            engine, expire_on_commit=False, sync_session_class=session_class
        )
        #: Turn-taking at SQLite's single write lock within this process (see ``gate``).
        self.gate = WriteGate(serial=engine.dialect.name == "sqlite")
        self.announcer: Announcer | None = None
        """Set by team mode's live link: announces a transaction's events inside it."""
        self.idle: Any = None
        """Closes idle pooled connections (PostgreSQL, when asked for in ``open``)."""
        self.name: str | None = None
        """The ``application_name`` of this process's connections (PostgreSQL), if given."""
        self.listen_url: str | None = None
        """Where team mode's live link connects, when not to ``engine.url`` (PgBouncer)."""

    def _before_commit(self, session: Session) -> None:
        if session.in_nested_transaction():
            return  # a savepoint released: the events go with the transaction's own commit
        batches = session.info.pop(_TO_ANNOUNCE, None)
        session.info.pop(_ANNOUNCED, None)
        if not batches or self.announcer is None:
            return
        events = [event_ for batch in batches for event_ in batch]
        if events:
            self.announcer(session, events)
        session.info[_ANNOUNCED] = True

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @property
    def location(self) -> str:
        """What to name in a message: the file, or host and database (never a password)."""
        url = self.engine.url
        if url.get_backend_name() == "sqlite":
            return url.database or ":memory:"
        return f"{url.host}:{url.port or 5432}/{url.database}"

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        upgrade: bool = True,
        idle_seconds: float | None = None,
        name: str | None = None,
        mapped: bool = False,
        **engine_options: Any,
    ) -> Database:
        """Connect to ``url`` and (by default) bring its schema up to date.

        On PostgreSQL, ``idle_seconds`` closes the pooled connections after that long unused
        (``core.storage.idle``); ``name`` is the ``application_name`` its connections show the
        server (``coccinelle app``, ``coccinelle relay``…); ``mapped`` reads an SQLite file
        through a memory map (``MMAP_BYTES``); ``engine_options`` go to SQLAlchemy (pool size
        and the like).

        Raises:
            NotADatabase: an SQLite file that is not a database.
            SchemaTooNew: a schema written by a newer version.
            StorageError: the server cannot be reached or refuses us.
        """
        parsed = parse_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        if parsed.get_backend_name() == "postgresql":
            engine_options = _postgres_options(engine_options, name)
        else:
            engine_options = _sqlite_options(engine_options)
        # A failed statement's error text must not carry its parameters (strangers' messages,
        # phone numbers) into logs and tracebacks.
        engine_options.setdefault("hide_parameters", True)
        engine = create_async_engine(url, **engine_options)
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
            event.listen(engine.sync_engine, "checkin", _restore_checkpoints)
            if mapped:
                event.listen(engine.sync_engine, "connect", _on_mapped_sqlite_connect)
        db = cls(engine)
        db.name = name
        if idle_seconds is not None and engine.dialect.name == "postgresql":
            from core.storage.idle import IdleConnectionCloser

            db.idle = IdleConnectionCloser(engine, idle_seconds)
        try:
            await db.check()
            if upgrade:
                await db.upgrade()
        except BaseException:
            await engine.dispose()
            raise
        return db

    async def check(self) -> None:
        """Make sure the database answers; turn driver errors into clear ones."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                if self.dialect == "sqlite":
                    await conn.execute(text("SELECT count(*) FROM sqlite_master"))
        except (TimeoutError, DatabaseError, DBAPIError, OSError) as exc:
            raise self._explain(exc) from None

    def _explain(self, exc: BaseException) -> StorageError:
        if self.dialect == "postgresql":
            return _explain_postgres(self.engine.url, exc)
        original = getattr(exc, "orig", exc)
        damaged = "not a database" in str(original) or "malformed" in str(original)
        if isinstance(original, sqlite3.DatabaseError) and damaged:
            return NotADatabase(
                f"{self.location} is not a Coccinelle database (or it is damaged). "
                "Nothing was changed. Move it aside, or point --database-url at another file."
            )
        if isinstance(exc, OperationalError) or isinstance(original, OSError):
            return StorageError(f"cannot open the database at {self.location}: {original}")
        return StorageError(f"the database at {self.location} failed: {original}")

    async def upgrade(self) -> None:
        """Apply every migration not yet applied (``coccinelle db upgrade``)."""
        async with self.engine.begin() as conn:
            await conn.run_sync(migrate.upgrade_if_needed)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction: committed on success, rolled back on error.

        Raises:
            StorageError: SQLite cannot write (disk full, locked by another program, damaged
                file, I/O error); the transaction was rolled back, nothing of it was kept.
        """
        try:
            async with self.sessions() as session, session.begin():
                yield session
        except (DBAPIError, ConnectionError, socket.gaierror, TimeoutError) as exc:
            fault = self.fault(exc) or self.server_lost(exc)
            if fault is None:
                raise
            raise fault from exc

    def fault(self, exc: BaseException) -> StorageError | None:
        """A clear error for an SQLite file that cannot be used right now, or None.

        Integrity errors and PostgreSQL errors are left alone: callers handle those.
        """
        if self.dialect != "sqlite" or isinstance(exc, IntegrityError):
            return None
        from core.i18n import t

        original = getattr(exc, "orig", exc)
        if not isinstance(original, sqlite3.DatabaseError):
            return None
        reason = str(original).lower()
        for needle, key in _SQLITE_FAULTS:
            if needle in reason:
                error = NotADatabase if key == "damaged" else StorageError
                return error(t(f"storage.{key}", path=self.location))
        return StorageError(t("storage.failed", path=self.location, reason=_first_line(original)))

    def server_lost(self, exc: BaseException) -> StorageError | None:
        """A clear error when the PostgreSQL server cannot be reached (restart, network), or None.

        The pool checks connections before use, so this is what remains when the server is away:
        connecting is refused or times out, or a connection drops mid-transaction.
        """
        if self.dialect != "postgresql":
            return None
        from core.i18n import t

        original = getattr(exc, "orig", None) or exc
        cause = getattr(original, "__cause__", None) or original
        state = str(getattr(cause, "sqlstate", None) or "")
        lost = (
            getattr(exc, "connection_invalidated", False)
            or isinstance(exc, InterfaceError)
            or isinstance(cause, ConnectionError | socket.gaierror | TimeoutError)
            or state.startswith("08")
            or state in ("57P01", "57P02", "57P03")
        )
        return StorageError(t("storage.server_lost", path=self.location)) if lost else None

    async def close(self) -> None:
        """Release every connection."""
        if self.idle is not None:
            await self.idle.close()
        await self.engine.dispose()
