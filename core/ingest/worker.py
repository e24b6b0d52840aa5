"""The ingest worker: stored raw events become domain changes, in order, exactly once.

Events are read in batches and parsed before any transaction opens; a batch is then applied
in short write transactions (``HOLD_SECONDS`` at most, less when the relay's writer is waiting
for SQLite's write lock). Each event is claimed and marked processed in the same transaction
as its effects, so a crash leaves it pending (processed on the next start) and a second worker
never applies it twice. New inbound messages from different prospects are applied as a group
(``core.ingest.grouped``: one claim, one savepoint, their rows inserted set-based), status
reports likewise; other events one by one, each in its savepoint. One event failing rolls
back its group (then applied one by one) or its own savepoint only, and is marked failed with
its reason; the others of the batch are kept. On PostgreSQL a tenant's ingest
transactions take turns on an advisory lock, so several workers (one per relay in team mode)
apply a tenant's events one after the other, in id order.
What changed is published on the event bus after the commit.

    worker = IngestWorker(service.ctx, adapters)
    await worker.run_once()              # everything pending now
    task = asyncio.create_task(worker.run(stop))   # or keep going until ``stop`` is set
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Update, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.booking.service import Booking
from core.channels.adapter import (
    EngagementEvent,
    InboundMessage,
    NormalizedEvent,
    StatusUpdate,
    WebhookRequest,
)
from core.channels.multipart import prepare_form
from core.channels.runtime import AdapterLookup, find_adapter
from core.domain.enums import Channel, InboundEventStatus, Provider
from core.domain.tenant_settings import TenantSettings
from core.errors import CoccinelleError
from core.ingest.apply import Ignored, apply_event, inbound_row
from core.ingest.grouped import Prepared, apply_group, inbound_ahead, prepare_inbound
from core.ingest.lookups import read_lookups
from core.ingest.replies import Replies, RepliesFailed
from core.ingest.retry import RETRY_DELAYS, after_failure, failure_reason
from core.ingest.retry import database_down as _database_down
from core.ingest.storable import storable_event
from core.storage import tables as t
from core.storage.database import was_announced
from core.storage.inbound_step import AppointmentNotice, BatchLookups, IngestStep
from core.storage.rows_changed import rows_changed
from core.storage.service_context import ServiceContext
from core.storage.tenant_lock import lock_tenant_messages

log = logging.getLogger(__name__)
E = t.InboundEventRow
POLL_SECONDS = 1.0
#: How long one ingest transaction may hold the write lock before it commits and lets go, while
#: nobody else waits for it (it commits after the event or group in hand as soon as someone does).
HOLD_SECONDS = 0.100
#: How long a group of new inbound messages should take (what a writer that starts waiting
#: then waits at most, about): its size follows the recent cost of one of its messages. Short
#: while the relay's writer has waited for ingest within ``CONTENDED_SECONDS``, longer when
#: nobody has (a backlog drained alone).
GROUP_SECONDS = 0.010
IDLE_GROUP_SECONDS = 0.050
CONTENDED_SECONDS = 1.0
#: While the relay is busy, ingest pauses this many times as long as its last transaction took
#: (it then has about 1 / (1 + BUSY_PAUSE) of the event loop; all of it once the load drops).
BUSY_PAUSE = 3.0
#: How many of the batch's next events a transaction reads the rows of before applying them
#: (at most; twice as many as the previous transaction applied, at least ``MIN_LOOKAHEAD``).
LOOKAHEAD = 100
MIN_LOOKAHEAD = 8
#: How many new inbound messages one group may hold (``core.ingest.grouped``), at least and
#: at most; in between, what the transaction's hold leaves at their recent cost.
MIN_GROUP = 4
MAX_GROUP = 64
AppointmentHook = Callable[[AppointmentNotice], Awaitable[None]]


class IngestWorker:
    """Processes the tenant's pending inbound events."""

    def __init__(
        self,
        ctx: ServiceContext,
        adapters: AdapterLookup,
        batch: int = 100,
        appointment_hooks: list[AppointmentHook] | None = None,
        booking: Booking | None = None,
    ) -> None:
        self.ctx = ctx
        self.adapters = adapters
        self.batch = batch
        #: How Sara books and changes appointments: pass the app's (``service.booking``) so the
        #: same hooks run; by default one with the standard hooks (reminders, notices).
        self.booking = booking or default_booking(ctx)
        #: Called after the commit for each appointment Sara changed (e.g. to drop reminders).
        self.appointment_hooks = list(appointment_hooks or ())
        #: Waits between attempts of an event that fails (then it is parked).
        self.retry_delays = RETRY_DELAYS
        #: Whether Sara's steps guard against echoed answers (``IngestStep.echo_guard``).
        self.echo_guard = True
        self._wake = asyncio.Event()
        self._own: frozenset[str] = frozenset()
        self._lookahead = MIN_LOOKAHEAD
        #: Seconds one message of a group recently took (``_group_size``).
        self._inbound_cost = 0.002
        #: When a transaction last ended early for a writer waiting (``_group_size``).
        self._yielded_at = -CONTENDED_SECONDS
        #: Whether the next transaction submits its out-of-hours replies together.
        self._defer_replies = True
        #: Whether the process has more urgent work (the relay answering webhooks): ingest then
        #: pauses between transactions, so that it takes a bounded share of the event loop.
        self.busy: Callable[[], bool] = lambda: False

    def wake(self) -> None:
        """Ask the worker to look for new events now (the relay calls it after a commit)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Process events until ``stop`` is set, waking on ``wake`` or every second."""
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:  # the database went away: keep the relay up, try again
                log.exception("ingest pass failed; retrying")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=POLL_SECONDS)

    async def run_once(self) -> int:
        """Process every event pending now, oldest first; returns how many were taken."""
        done = 0
        while True:
            rows = await self._pending()
            if not rows:
                return done
            settings, providers = await self._tenant_setup()
            await self.apply_batch(rows, settings, providers)
            done += len(rows)

    async def _pending(self) -> list[PendingEvent]:
        due = or_(E.next_attempt_at.is_(None), E.next_attempt_at <= self.ctx.now())
        query = (
            select(E.id, E.headers, E.body, E.provider)
            .where(E.status == InboundEventStatus.PENDING, E.tenant_id == self.ctx.tenant_id, due)
            .order_by(E.id)
            .limit(self.batch)
        )
        async with self.ctx.db.session() as session:
            found = (await session.execute(query)).all()
        return [
            PendingEvent(i, headers or {}, body, provider) for i, headers, body, provider in found
        ]

    async def _tenant_setup(self) -> tuple[TenantSettings, dict[Channel, Provider]]:
        async with self.ctx.db.session() as session:
            tenant = await session.get(t.TenantRow, self.ctx.tenant_id)
            channels = (
                await session.execute(
                    select(t.ChannelRow).where(t.ChannelRow.tenant_id == self.ctx.tenant_id)
                )
            ).scalars()
            rows = list(channels)
            providers = {Channel(c.channel_type): Provider(c.provider) for c in rows}
        self._own = own_addresses([c.config or {} for c in rows], self.adapters)
        settings = TenantSettings.model_validate((tenant.settings if tenant else None) or {})
        return settings, providers

    async def process(
        self, event_id: int, settings: TenantSettings, providers: dict[Channel, Provider]
    ) -> None:
        """Apply one stored event and mark it processed, in one transaction."""
        async with self.ctx.db.session() as session:
            found = (
                await session.execute(
                    select(E.id, E.headers, E.body, E.provider).where(E.id == event_id)
                )
            ).first()
        if found is not None:
            await self.apply_batch(
                [PendingEvent(found[0], found[1] or {}, found[2], found[3])], settings, providers
            )

    async def apply_batch(
        self,
        rows: list[PendingEvent],
        settings: TenantSettings,
        providers: dict[Channel, Provider],
    ) -> None:
        """Apply ``rows`` in id order, in as few short write transactions as it takes.

        Each request is parsed before any transaction opens. A transaction ends after
        ``HOLD_SECONDS`` or as soon as the relay's writer waits for the write lock; what it
        applied is published only once it has committed. An event that fails to apply is
        rolled back alone (a savepoint) and marked failed with its reason, in the same
        transaction as the others' effects.

        Raises:
            StorageError and driver errors: the database failed; the uncommitted events of the
                batch stay pending and are taken again on the next pass.
        """
        for row in rows:
            await self._parse(row)
        queue = deque(rows)
        while queue:
            started = time.perf_counter()
            steps = await self._transaction(queue, settings, providers)
            await self._after_commit(steps)
            if self.busy():
                await asyncio.sleep((time.perf_counter() - started) * BUSY_PAUSE)

    async def _parse(self, row: PendingEvent) -> None:
        try:
            channel = Channel(row.headers.get("channel") or "sms")
            adapter = find_adapter(self.adapters, channel, row.provider)
            if adapter is None:
                raise CoccinelleError(f"no {channel} adapter is configured to read this event")
            request = stored_request(row)
            await prepare_form(request, len(request.body))  # a large mail parsed off the loop
            row.events = [storable_event(e) for e in adapter.parse(request)]
        except Exception as exc:  # told when the event is claimed, and marked failed there
            row.error = exc

    async def _transaction(
        self,
        queue: deque[PendingEvent],
        settings: TenantSettings,
        providers: dict[Channel, Provider],
    ) -> list[IngestStep]:
        db = self.ctx.db
        steps: list[IngestStep] = []
        taken_rows: list[PendingEvent] = []
        replies = Replies() if self._defer_replies else None
        self._defer_replies = True
        try:
            async with db.gate.background(), db.session() as session:
                await self._serialize(session)
                ahead = list(itertools.islice(queue, self._lookahead))
                # before the write lock: reads (autocommit on SQLite) and Python work only
                lookups = await read_lookups(session, self.ctx.tenant_id, _events_of(ahead))
                now = self.ctx.now()
                prepared = prepare_inbound(
                    ahead,
                    lookups,
                    lambda row: self._step(session, row, now, settings, providers, lookups),
                )
                started = time.perf_counter()
                taken = 0
                while queue:
                    group = _statuses_ahead(queue, len(ahead) - taken)
                    inbound = False
                    if not group:
                        most = min(len(ahead) - taken, self._group_size())
                        group = inbound_ahead(queue, most, lookups, settings)
                        inbound = True
                    row = group[0] if group else queue.popleft()
                    taken_rows += group or [row]
                    taken += max(1, len(group))
                    if replies is not None:
                        await replies.before(session, group or [row])
                    if len(group) > 1 and inbound:
                        began = time.perf_counter()
                        steps += await self._inbound(
                            session, group, prepared, now, settings, providers, lookups, replies
                        )
                        self._cost(time.perf_counter() - began, len(group))
                    elif len(group) > 1:
                        steps += await self._statuses(
                            session, group, settings, providers, lookups, replies
                        )
                    else:
                        step = await self._one(session, row, settings, providers, lookups, replies)
                        if step is not None:
                            steps.append(step)
                    if taken == len(ahead):  # the next ones' rows were not read
                        break
                    if db.gate.wanted:
                        self._yielded_at = time.monotonic()
                        break
                    if time.perf_counter() - started > HOLD_SECONDS:
                        break
                if replies is not None:
                    await replies.flush(session)
        except RepliesFailed:
            # rolled back: the same events again, each submitting its replies at once (an
            # event whose reply cannot be queued then fails alone)
            queue.extendleft(reversed(taken_rows))
            self._defer_replies = False
            return []
        # read as far ahead as this transaction got, and a little more
        self._lookahead = min(max(2 * taken, MIN_LOOKAHEAD), LOOKAHEAD)
        return steps

    async def _serialize(self, session: AsyncSession) -> None:
        """On PostgreSQL, one ingest transaction per tenant at a time (other relays' too).

        Workers then apply a tenant's events strictly in id order, and two batches (or a batch
        and the outbox writing send results) never wait on each other's rows (no deadlock).
        SQLite has a single writer already.
        """
        await lock_tenant_messages(session, self.ctx.tenant_id)

    async def _one(
        self,
        session: AsyncSession,
        row: PendingEvent,
        settings: TenantSettings,
        providers: dict[Channel, Provider],
        lookups: BatchLookups | None = None,
        replies: Replies | None = None,
        claimed: bool = False,
    ) -> IngestStep | None:
        """Claim (unless ``claimed``) and apply one event inside the batch's transaction
        (None: not applied)."""
        now = self.ctx.now()
        if not claimed and rows_changed(await session.execute(_claim(now, [row.id]))) == 0:
            return None  # another worker took it
        step = self._step(session, row, now, settings, providers, lookups)
        held = len(replies.items) if replies is not None else 0
        if replies is not None:
            step.replies = replies
        try:
            async with session.begin_nested():
                notes = await self._apply(step, row)
        except Exception as exc:
            if lookups is not None:
                lookups.clear()  # it may hold rows the savepoint's rollback took back
            if replies is not None:
                del replies.items[held:]  # its replies were rolled back with it
            if _database_down(exc):
                raise
            await self._fail(session, row.id, exc)
            return None
        await self._noted(session, row, notes)
        return step

    def _group_size(self) -> int:
        """How many new inbound messages a group may take (it is applied whole, never cut
        short). On SQLite, ``GROUP_SECONDS`` at their recent cost while the relay's writer has
        lately waited for ingest, else ``IDLE_GROUP_SECONDS``; on PostgreSQL, where no other
        writer waits for ingest's, the most."""
        gate = self.ctx.db.gate
        if not gate.serial:
            return MAX_GROUP
        contended = gate.wanted or time.monotonic() - self._yielded_at < CONTENDED_SECONDS
        budget = GROUP_SECONDS if contended else IDLE_GROUP_SECONDS
        return max(MIN_GROUP, min(MAX_GROUP, int(budget / self._inbound_cost)))

    def _cost(self, seconds: float, events: int) -> None:
        """Note what a group of new inbound messages cost, per message (a moving average)."""
        self._inbound_cost = 0.8 * self._inbound_cost + 0.2 * seconds / events

    async def _inbound(
        self,
        session: AsyncSession,
        rows: list[PendingEvent],
        prepared: dict[int, Prepared],
        now: datetime,
        settings: TenantSettings,
        providers: dict[Channel, Provider],
        lookups: BatchLookups,
        replies: Replies | None = None,
    ) -> list[IngestStep]:
        """Claim and apply new inbound messages from different prospects together
        (``core.ingest.grouped``): one claim, one savepoint, two flushes, their steps and rows
        ``prepared`` before the write lock was taken. If one fails, the savepoint is rolled
        back and they are applied one by one as usual, so that only the failing one is marked
        failed."""
        rows = await self._claimed(session, rows, now)
        items = [self._prepared(session, row, prepared, now, settings, providers, lookups)
                 for row in rows]  # fmt: skip
        steps = [item.step for item in items]
        held = len(replies.items) if replies is not None else 0
        try:
            async with session.begin_nested():
                for step in steps:
                    step.replies = replies
                await apply_group(session, items)
        except Exception as exc:
            lookups.clear()  # it may hold rows the savepoint's rollback took back
            if replies is not None:
                del replies.items[held:]  # their replies were rolled back with them
            for step in steps:
                step.events.clear()  # nothing of theirs is committed: nothing to announce
            if _database_down(exc):
                raise
            return await self._alone(session, rows, settings, providers, lookups, replies)
        return steps

    def _prepared(
        self,
        session: AsyncSession,
        row: PendingEvent,
        prepared: dict[int, Prepared],
        now: datetime,
        settings: TenantSettings,
        providers: dict[Channel, Provider],
        lookups: BatchLookups,
    ) -> Prepared:
        """``row``'s prepared step and rows (built now if it was not prepared)."""
        item = prepared.pop(row.id, None)
        if item is not None:
            return item
        step = self._step(session, row, now, settings, providers, lookups)
        event = cast(InboundMessage, row.events[0])  # a group holds new inbound messages only
        return Prepared(step, event, inbound_row(step, event))

    @staticmethod
    async def _claimed(
        session: AsyncSession, rows: list[PendingEvent], now: datetime
    ) -> list[PendingEvent]:
        """Claim ``rows`` in one statement; those another worker did not take first.

        The claim comes before any savepoint: on SQLite it is what begins the transaction
        (a savepoint opened outside one would commit when released)."""
        claim = _claim(now, [row.id for row in rows]).returning(E.id)
        claimed = set((await session.execute(claim)).scalars())
        return [row for row in rows if row.id in claimed]

    async def _alone(
        self,
        session: AsyncSession,
        rows: list[PendingEvent],
        settings: TenantSettings,
        providers: dict[Channel, Provider],
        lookups: BatchLookups,
        replies: Replies | None,
    ) -> list[IngestStep]:
        """Apply claimed ``rows`` one by one, each in its savepoint (a group of them failed)."""
        applied = []
        for row in rows:
            step = await self._one(session, row, settings, providers, lookups, replies, True)
            if step is not None:
                applied.append(step)
        return applied

    async def _statuses(
        self,
        session: AsyncSession,
        rows: list[PendingEvent],
        settings: TenantSettings,
        providers: dict[Channel, Provider],
        lookups: BatchLookups,
        replies: Replies | None = None,
    ) -> list[IngestStep]:
        """Claim and apply stored events that only report on messages we sent (statuses,
        opens, clicks) together: one claim, one savepoint, one flush for all of them, instead
        of those per event. If one fails, the savepoint is rolled back and they are applied one
        by one as usual, so that only the failing one is marked failed."""
        now = self.ctx.now()
        rows = await self._claimed(session, rows, now)
        steps: list[IngestStep] = []
        try:
            async with session.begin_nested():
                for row in rows:
                    step = self._step(session, row, now, settings, providers, lookups)
                    await self._noted(session, row, await self._apply(step, row))
                    steps.append(step)
        except Exception as exc:
            lookups.clear()  # it may hold rows the savepoint's rollback took back
            if _database_down(exc):
                raise
            return await self._alone(session, rows, settings, providers, lookups, replies)
        return steps

    def _step(
        self,
        session: AsyncSession,
        row: PendingEvent,
        now: datetime,
        settings: TenantSettings,
        providers: dict[Channel, Provider],
        lookups: BatchLookups | None,
    ) -> IngestStep:
        return IngestStep(
            session,
            self.ctx.tenant_id,
            row.id,
            now,
            settings,
            providers,
            booking=self.booking,
            own_addresses=self._own,
            lookups=lookups,
            echo_guard=self.echo_guard,
        )

    @staticmethod
    async def _noted(session: AsyncSession, row: PendingEvent, notes: list[str]) -> None:
        """Keep what was ignored in an applied event (a status for a message we do not know)."""
        if notes:
            await session.execute(
                update(E).where(E.id == row.id).values(error="; ".join(notes)[:500])
            )

    async def _after_commit(self, steps: list[IngestStep]) -> None:
        for step in steps:
            self.ctx.bus.publish_all(step.events, forward=not was_announced(step.session))
            for change in step.booking_changes:
                await self.booking.notify(change)
            await self._tell_hooks(step.appointment_changes)

    async def _tell_hooks(self, changes: list[AppointmentNotice]) -> None:
        for change in changes:
            for hook in self.appointment_hooks:
                try:
                    await hook(change)
                except Exception:  # the change is committed; a hook failing must not undo it
                    log.exception("appointment hook failed for %s", change.appointment_id)

    async def _apply(self, step: IngestStep, row: PendingEvent) -> list[str]:
        if row.error is not None:
            raise row.error
        notes = []
        for event in row.events:
            try:
                await apply_event(step, event)
            except Ignored as exc:  # a status for a message we do not know: nothing to change
                log.info("inbound event %s: %s", row.id, exc)
                notes.append(f"ignored: {exc}")
        return notes

    async def _fail(self, session: AsyncSession, event_id: int, exc: Exception) -> None:
        """Schedule the claimed event's next attempt, or park it (``core.ingest.retry``); its
        effects were rolled back to its savepoint, the batch's others are kept."""
        log.warning("inbound event %s failed: %s", event_id, failure_reason(exc))
        if not isinstance(exc, CoccinelleError | ValueError):
            log.exception("unexpected error in ingest", exc_info=exc)
        attempts = (await session.execute(select(E.attempts).where(E.id == event_id))).scalar()
        values = after_failure(attempts or 1, exc, self.ctx.now(), self.retry_delays)
        await session.execute(update(E).where(E.id == event_id).values(**values))


@dataclass(slots=True)
class PendingEvent:
    """A stored event to apply, with what its adapter read from it (parsed before the
    transaction), or why it could not be read."""

    id: int
    headers: dict[str, Any]
    body: bytes
    provider: str | None = None
    events: list[NormalizedEvent] = field(default_factory=list)
    error: Exception | None = None


#: Events that only report on a message we sent: applied in groups (``_statuses``).
_REPORTS = (StatusUpdate, EngagementEvent)


def _statuses_ahead(queue: deque[PendingEvent], most: int) -> list[PendingEvent]:
    """Take from the head of ``queue`` the stored events (up to ``most``) that carry only
    reports on sent messages, in order; none if the head is anything else."""
    group: list[PendingEvent] = []
    while queue and len(group) < most:
        row = queue[0]
        if row.error is not None or not row.events:
            break
        if not all(isinstance(event, _REPORTS) for event in row.events):
            break
        group.append(queue.popleft())
    return group


def _claim(now: datetime, ids: list[int]) -> Update:
    """Mark pending events ``ids`` processed (with their effects, in the same transaction)."""
    return (
        update(E)
        .where(E.id.in_(ids), E.status == InboundEventStatus.PENDING)
        .values(
            status=InboundEventStatus.PROCESSED,
            processed_at=now,
            attempts=E.attempts + 1,
            error=None,
            next_attempt_at=None,
        )
    )


def _events_of(rows: list[PendingEvent]) -> Iterator[NormalizedEvent]:
    return (event for row in rows for event in row.events)


def default_booking(ctx: ServiceContext) -> Booking:
    """A booking service with the standard hooks, for a worker started without the app's."""
    from core.booking.notices import booking_hooks
    from core.reminders.service import Reminders

    booking = Booking(ctx)
    booking_hooks(ctx, booking, Reminders(ctx))
    return booking


#: Adapter options naming the tenant's own sending number or address.
_OWN_OPTIONS = ("from_number", "from_email")


def own_addresses(configs: list[dict], adapters: AdapterLookup) -> frozenset[str]:
    """The tenant's own numbers and addresses (stored channel configs and running adapters'
    options): a message from one of them is automated, never answered."""
    found = {str(c[name]) for c in configs for name in _OWN_OPTIONS if c.get(name)}
    for channel in Channel:
        try:
            adapter = adapters(channel)
        except Exception:  # a channel that cannot be set up has no address to add
            continue
        if adapter is None:
            continue
        options = adapter.config.options
        found.update(str(options[name]) for name in _OWN_OPTIONS if options.get(name))
    return frozenset(found)


def stored_request(row: E | PendingEvent) -> WebhookRequest:
    """The webhook request a stored event came from, as the adapter's ``parse`` reads it."""
    saved = row.headers or {}
    return WebhookRequest(
        method="POST",
        url=str(saved.get("url", "")),
        headers=dict(saved.get("headers") or {}),
        body=row.body,
        query=dict(saved.get("query") or {}),
        path_params=dict(saved.get("path_params") or {}),
    )
