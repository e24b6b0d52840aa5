"""Live updates between processes sharing one PostgreSQL database, over LISTEN/NOTIFY.

Every process (an agent's app, a relay, a worker) has its own in-process ``EventBus``. The bridge
joins them: the events of a transaction are sent with ``pg_notify`` on the tenant's channel
*inside that transaction* (``Database.announcer``), so PostgreSQL delivers them exactly when the
change commits and never for a rolled-back one; a dedicated asyncpg connection LISTENs on the
channel and republishes what other processes sent (its own messages, recognised by an origin id,
are skipped). Nothing polls the tables. Events published outside a transaction (rare) and
presence messages go through a best-effort sender after the fact.

    bridge = NotifyBridge(db, bus, tenant_id)
    await bridge.start()        # a no-op on SQLite
    ...
    await bridge.close()

When the listening connection is lost (the server restarts, the network drops), the bridge
publishes ``ConnectionState(online=False)``, reconnects with growing delays, then publishes
``ConnectionState(online=True)`` and ``Resync`` so that UIs reload what they may have missed.

Other parts send their own kinds of message through ``send`` and receive them with ``on``
(presence heartbeats do).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from core.events import (
    AppointmentChanged,
    ConnectionState,
    ConversationChanged,
    Event,
    EventBus,
    MessageChanged,
    OutboxQueued,
    ProspectChanged,
    Resync,
    SettingsChanged,
)
from core.storage.database import Database

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger(__name__)

#: Events worth telling other processes about, by name (what a payload carries).
_SHARED = (
    ConversationChanged,
    MessageChanged,
    ProspectChanged,
    AppointmentChanged,
    OutboxQueued,
    SettingsChanged,
)
SHARED_EVENTS: dict[str, type] = {cls.__name__: cls for cls in _SHARED}
#: PostgreSQL refuses NOTIFY payloads of 8000 bytes or more.
MAX_PAYLOAD = 7900
_FIELD_TYPES = {"int": int, "str": str, "bool": bool}

#: Called with ``(origin, data)`` for a message of a registered kind from another process.
Handler = Callable[[str, dict[str, Any]], None]
StateCallback = Callable[[bool], None]


def encode_event(event: Event) -> list[Any]:
    """``[type name, {field: value}]``: what a notification carries for one event."""
    return [type(event).__name__, dataclasses.asdict(event)]


def decode_event(item: Any) -> Event | None:
    """The event ``encode_event`` described, or None if the item is not one we share.

    Payloads come from the database, so they are checked field by field before use.
    """
    if not (isinstance(item, list) and len(item) == 2 and isinstance(item[1], dict)):
        return None
    cls = SHARED_EVENTS.get(item[0]) if isinstance(item[0], str) else None
    if cls is None:
        return None
    fields = dataclasses.fields(cls)
    if set(item[1]) != {f.name for f in fields}:
        return None
    for f in fields:
        expected = _FIELD_TYPES.get(str(f.type))
        value = item[1][f.name]
        if expected is None or type(value) is not expected:
            return None
    return cls(**item[1])


def pack(origin: str, events: Sequence[Event]) -> list[str]:
    """JSON payloads carrying ``events``, each under PostgreSQL's size limit."""
    payloads: list[str] = []
    batch: list[list[Any]] = []
    for item in (encode_event(e) for e in events):
        candidate = json.dumps({"o": origin, "e": [*batch, item]}, separators=(",", ":"))
        if batch and len(candidate.encode()) > MAX_PAYLOAD:
            payloads.append(json.dumps({"o": origin, "e": batch}, separators=(",", ":")))
            batch = [item]
        else:
            batch.append(item)
    if batch:
        payloads.append(json.dumps({"o": origin, "e": batch}, separators=(",", ":")))
    return payloads


async def channel_name(db: Database, tenant_id: int) -> str:
    """The tenant's NOTIFY channel, ``coccinelle_<schema>_<tenant id>``.

    The schema is part of it so that tenants of different schemas in one database (tests run
    that way) never hear each other. Channel names are at most 63 bytes.
    """
    async with db.session() as session:
        schema = (await session.execute(text("SELECT current_schema()"))).scalar_one()
    name = f"coccinelle_{schema}_{tenant_id}"
    if len(name.encode()) > 63:
        digest = hashlib.sha1(str(schema).encode()).hexdigest()[:16]
        name = f"coccinelle_{digest}_{tenant_id}"
    return name


def listener_params(db: Database) -> dict[str, Any]:
    """asyncpg ``connect`` arguments for the live link: ``db.listen_url`` when set (the server
    itself, when the pools go through PgBouncer), else the database ``db`` is open on."""
    url = make_url(db.listen_url) if db.listen_url else db.engine.url
    params = url.translate_connect_args(username="user")
    params = {key: value for key, value in params.items() if value is not None}
    if db.name:
        params["server_settings"] = {"application_name": f"{db.name} listen"[:63]}
    return params


class NotifyBridge:
    """Joins this process's event bus to every other process's on the same PostgreSQL database.

    Args:
        db: the open database; on SQLite the bridge does nothing.
        bus: the local event bus.
        tenant_id: whose channel to use.
        on_state: also called with True/False when the live link comes up or goes down.
        retry_delays: seconds to wait between reconnection attempts (the last one repeats).
        keepalive: seconds between checks that the listening connection still answers.
    """

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        tenant_id: int,
        *,
        on_state: StateCallback | None = None,
        retry_delays: Sequence[float] = (0.2, 0.5, 1, 2, 5),
        keepalive: float = 15.0,
    ) -> None:
        self.db = db
        self.bus = bus
        self.tenant_id = tenant_id
        self.origin = uuid.uuid4().hex
        self.online: bool | None = None
        self.channel: str | None = None
        self._on_state = on_state
        self._retry_delays = tuple(retry_delays) or (1.0,)
        self._keepalive = keepalive
        self._handlers: dict[str, Handler] = {}
        self._outbox: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._ready = asyncio.Event()
        self._connection: asyncpg.Connection | None = None
        self._using = asyncio.Lock()  # one query at a time on the listening connection
        self.generation = 0
        """Counts listening connections: advisory locks held on one die with it."""
        self.connection_lost = asyncio.Event()
        """Set when the current listening connection is lost (a new one gets a new event)."""
        self._answered_at = 0.0  # when the listening connection last answered a query

    @property
    def started(self) -> bool:
        """Whether ``start`` was called (and not ``close``): the link is up or reconnecting."""
        return bool(self._tasks)

    @property
    def enabled(self) -> bool:
        """Whether there is anyone to talk to (PostgreSQL only)."""
        return self.db.dialect == "postgresql"

    async def start(self) -> None:
        """Start listening and forwarding; returns once the first connection attempt is done."""
        if not self.enabled or self._tasks:
            return
        self.channel = await channel_name(self.db, self.tenant_id)
        self.bus.forwarder = self._forward
        self.db.announcer = self._announce
        self._tasks = [
            asyncio.create_task(self._send_loop(), name="notify-send"),
            asyncio.create_task(self._listen_loop(), name="notify-listen"),
        ]
        await self._ready.wait()

    def on(self, kind: str, handler: Handler) -> None:
        """Call ``handler`` for every message of ``kind`` sent by another process."""
        self._handlers[kind] = handler

    def send(self, kind: str, data: dict[str, Any]) -> None:
        """Send a message of ``kind`` to every other process (not waiting; see ``flush``)."""
        if self._tasks:
            self._outbox.put_nowait((kind, data))

    async def flush(self) -> None:
        """Wait until everything queued so far has been sent (or given up)."""
        if self._tasks:
            await self._outbox.join()

    async def close(self) -> None:
        """Send what is queued, stop listening and release the connection."""
        if not self._tasks:
            return
        if self.bus.forwarder == self._forward:
            self.bus.forwarder = None
        if self.db.announcer == self._announce:
            self.db.announcer = None
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.flush(), 5)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._drop_connection()

    # Sending -----------------------------------------------------------------------------

    def _announce(self, session: Session, events: Sequence[object]) -> None:
        """Send ``events`` with ``session``'s transaction: delivered at its commit, or never."""
        shared = [e for e in dict.fromkeys(events) if isinstance(e, _SHARED)]
        for payload in pack(self.origin, shared):
            session.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": self.channel, "payload": payload},
            )

    def _forward(self, event: Event) -> None:
        if type(event).__name__ in SHARED_EVENTS:
            self._outbox.put_nowait(("e", event))

    async def _send_loop(self) -> None:
        while True:
            batch = [await self._outbox.get()]
            while not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            try:
                await self._notify(self._payloads(batch))
            except Exception as exc:  # the loop must outlive any failure
                # Others miss these events; they reload everything when their link comes back.
                log.warning("live update not sent to other processes: %s", type(exc).__name__)
            finally:
                for _ in batch:
                    self._outbox.task_done()

    def _payloads(self, batch: list[tuple[str, Any]]) -> list[str]:
        events = [item for kind, item in batch if kind == "e"]
        payloads = pack(self.origin, events) if events else []
        for kind, data in batch:
            if kind != "e":
                message = {"o": self.origin, "k": kind, "d": data}
                payloads.append(json.dumps(message, separators=(",", ":")))
        return [p for p in payloads if len(p.encode()) <= MAX_PAYLOAD]

    async def _notify(self, payloads: list[str]) -> None:
        """Send ``payloads`` on the listening connection (no pooled connection, one statement),
        or through the pool while the link is down."""
        if not payloads:
            return
        conn = self._connection
        if conn is not None and not conn.is_closed():
            try:
                async with self._using:
                    await conn.execute(
                        "SELECT pg_notify($1, p) "
                        "FROM unnest($2::text[]) WITH ORDINALITY AS u(p, n) ORDER BY n",
                        self.channel,
                        payloads,
                    )
            except Exception as exc:  # the link is going down: the pool may still reach the server
                log.info("live link could not send, using the pool: %s", type(exc).__name__)
            else:
                self._answered_at = time.monotonic()
                return
        async with self.db.engine.begin() as conn_:
            for payload in payloads:
                await conn_.execute(
                    text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": self.channel, "payload": payload},
                )

    # Advisory locks on the listening connection (see ``core.team.lease``) ------------------

    async def try_advisory_locks(self, keys: Sequence[int]) -> tuple[set[int], int | None]:
        """Take each free session advisory lock of ``keys`` on the listening connection, in one
        statement.

        Returns:
            The keys taken, and the connection's ``generation`` (the locks live as long as it);
            nothing when the link is down or changed meanwhile.
        """
        conn, generation = self._connection, self.generation
        if conn is None or conn.is_closed() or not keys:
            return set(), None
        try:
            async with self._using:
                rows = await conn.fetch(
                    "SELECT k, pg_try_advisory_lock(k) AS taken FROM unnest($1::bigint[]) AS k",
                    list(keys),
                )
        except Exception as exc:  # the link is going down; the listen loop reconnects
            log.info("advisory locks not taken: %s", type(exc).__name__)
            return set(), None
        self._answered_at = time.monotonic()
        if generation != self.generation:
            return set(), None
        return {int(row["k"]) for row in rows if row["taken"]}, generation

    async def try_advisory_lock(self, key: int) -> int | None:
        """Take the session advisory lock ``key`` on the listening connection if it is free.

        Returns:
            The connection's ``generation``, or None when the lock is held elsewhere or the
            link is down.
        """
        taken, generation = await self.try_advisory_locks([key])
        return generation if key in taken else None

    async def advisory_unlock(self, key: int, generation: int) -> None:
        """Release ``key`` if the connection that took it is still the one in use."""
        conn = self._connection
        if conn is None or conn.is_closed() or generation != self.generation:
            return
        with contextlib.suppress(Exception):
            async with self._using:
                await conn.execute("SELECT pg_advisory_unlock($1)", key)

    # Listening ---------------------------------------------------------------------------

    async def _listen_loop(self) -> None:
        attempt = 0
        while True:
            lost = asyncio.Event()
            self.connection_lost = lost
            try:
                await self._connect(lost)
            except Exception as exc:  # keep retrying whatever the cause
                log.warning("live updates: cannot listen (%s), retrying", type(exc).__name__)
                self._set_online(False)
                self._ready.set()
                await asyncio.sleep(self._retry_delays[min(attempt, len(self._retry_delays) - 1)])
                attempt += 1
                continue
            attempt = 0
            was_offline = self.online is False
            self._set_online(True)
            if was_offline:
                # What other processes sent during the gap is unknown: reload everything.
                self.bus.publish(Resync(), forward=False)
            self._ready.set()
            await self._watch(lost)
            lost.set()
            await self._drop_connection()
            self._set_online(False)

    async def _connect(self, lost: asyncio.Event) -> None:
        import asyncpg  # only team mode needs it; the SQLite app starts without it

        conn = await asyncpg.connect(**listener_params(self.db), timeout=10)
        try:
            conn.add_termination_listener(lambda _conn: lost.set())
            await conn.add_listener(self.channel, self._on_notify)
        except BaseException:
            conn.terminate()
            raise
        self._connection = conn
        self.generation += 1

    async def _watch(self, lost: asyncio.Event) -> None:
        """Return when the connection is lost (or stops answering)."""
        conn = self._connection
        assert conn is not None
        while not lost.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(lost.wait(), self._keepalive)
                return
            if time.monotonic() - self._answered_at < self._keepalive:
                continue  # it answered lately (lock rounds, notifications sent): alive
            try:
                async with self._using:
                    await asyncio.wait_for(conn.execute("SELECT 1"), 5)
                self._answered_at = time.monotonic()
            except Exception:  # whatever the cause, this connection is no longer usable
                return

    async def _drop_connection(self) -> None:
        conn, self._connection = self._connection, None
        self.generation += 1
        if conn is not None and not conn.is_closed():
            conn.terminate()

    def _set_online(self, online: bool) -> None:
        if self.online == online:
            return
        self.online = online
        self.bus.publish(ConnectionState(online), forward=False)
        if self._on_state is not None:
            self._on_state(online)

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            message = json.loads(payload)
        except ValueError:
            return
        if not isinstance(message, dict) or message.get("o") == self.origin:
            return
        origin = str(message.get("o"))
        if isinstance(message.get("e"), list):
            events = [e for e in map(decode_event, message["e"]) if e is not None]
            self.bus.publish_all(events, forward=False)
        elif isinstance(message.get("d"), dict):
            handler = self._handlers.get(str(message.get("k")))
            if handler is not None:
                handler(origin, message["d"])
