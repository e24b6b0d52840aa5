"""The outbox worker: lease due rows, send them, record what happened.

Crash safety rests on one rule: a row is marked ``sending`` (committed) before the provider is
called, and ``sent`` after. A row found ``sending`` with an expired lease was interrupted at an
unknown point: it is looked up at the provider when the adapter can (found: sent; not found:
queued again), otherwise marked ``unknown`` for an agent to check and resend. A send left
unanswered (a timeout, the round's bound) is asked about the same way before its retry (Twilio's
lookup knows its SIDs only: its message list finds such a send). It is never sent again blindly,
so nothing is sent twice without someone asking.

Several workers (each agent's app and each relay, in team mode) share one queue: a worker claims
due rows with ``SELECT … FOR UPDATE SKIP LOCKED`` (rows another worker is claiming are skipped,
not waited for) and leases them; a worker that dies leaves leases that expire, and another takes
the rows then.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import or_, select, text, update
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from core.channels.adapter import ChannelAdapter, OutgoingMessage, SendResult
from core.channels.errors import ProviderError
from core.channels.segments import count_segments
from core.config.settings import OrchestratorSettings, Settings
from core.domain.enums import (
    STATUS_RANK,
    AppointmentStatus,
    Channel,
    MessageStatus,
    MessageType,
    OutboxStatus,
    Urgency,
)
from core.domain.tenant_settings import TenantSettings
from core.errors import CoccinelleError, StorageError
from core.events import Alert, ConversationChanged, Event, MessageChanged, OutboxQueued, Resync
from core.i18n import t as tr
from core.orchestrator.channels import INTRUSIVE
from core.orchestrator.hours import quiet_release
from core.orchestrator.loader import month_spending, with_defaults
from core.outbox.loaded import Loaded, load, write_back
from core.outbox.paused import hold_if_paused
from core.outbox.payload import for_channel, outgoing
from core.outbox.ratelimit import RateLimiters
from core.outbox.reconcile import ProviderAnswer, ask_provider
from core.storage import tables as t
from core.storage.convert import to_micros
from core.storage.planner import not_indexed
from core.storage.rows_changed import rows_changed
from core.storage.service_context import ServiceContext
from core.storage.tenant_lock import lock_tenant_messages
from core.storage.timeline import UNSURFACED, apply_status, surface_item

log = logging.getLogger(__name__)
_T = TypeVar("_T")

Out = t.OutboxRow
_DUE = (OutboxStatus.PENDING, OutboxStatus.HELD)
#: Why a WhatsApp fallback is skipped: its window closed and there is no approved template.
_WINDOW_CLOSED = "pipeline.left_out.window_closed"
#: How long after a send a failure reported by the provider still triggers a fallback.
DELIVERY_FAILURE_HORIZON = timedelta(days=2)
#: Rows a round claims: its claim, reconciliation and fallback looks and its two write
#: transactions are shared by all of them (20 a round spent half the worker's CPU on those).
BATCH_SIZE = 100
#: Sends of a round waiting for their providers at once (each still at its provider's pace).
SEND_CONCURRENCY = 64
#: Between two looks for deliveries reported failed, in a busy ``run_forever`` (the look reads
#: every row sent in ``DELIVERY_FAILURE_HORIZON``: at each round of a 100k broadcast, it cost
#: more than the round; a provider reports such a failure seconds to minutes after the send).
FALL_BACK_SECONDS = 5.0
#: How much of its lease a row marked sending may spend waiting for its provider's pace.
_PACED_SHARE_OF_LEASE = 0.25
#: How much of its lease a batch's sends may take in all: a send still unanswered then (an
#: adapter whose own timeout failed) is recorded as an unknown outcome, looked up before any
#: resend. Without it the round never ended: this worker, the one that reconciles its rows
#: left "sending", waited forever, silently, and the whole queue with it.
_SENDS_SHARE_OF_LEASE = 0.5
#: Pauses before writing a batch's results again when the database refused them (SQLite's
#: lock held past its busy timeout): the sends happened, and rows left "sending" would wait
#: for their lease to end, then for a provider lookup each (a stalled broadcast, issue 17).
RESULT_RETRY_PAUSES = (0.5, 2.0, 5.0)


class AdapterSource(Protocol):
    """What the worker needs of ``ChannelRuntime``: the adapter of a channel."""

    def adapter(self, channel: Channel) -> ChannelAdapter: ...


def reference_of(row: t.OutboxRow) -> str:
    """The reference sent to the provider: the key, plus the fallback step after a fallback."""
    if row.fallback_attempts:
        return f"{row.idempotency_key}~{row.fallback_attempts}"
    return row.idempotency_key


class _Budget:
    """The month's budget and spending, as this worker's round knows it."""

    def __init__(self, amount: Decimal, spent: Decimal) -> None:
        self.amount = amount
        self.spent = spent


class _Failure:
    """What went wrong with one attempt."""

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        code: str | None = None,
        retry_after: float | None = None,
        ambiguous: bool = False,
    ) -> None:
        self.message = message[:500]
        self.permanent = permanent
        self.code = code
        self.retry_after = retry_after
        self.ambiguous = ambiguous

    @classmethod
    def of(cls, exc: ProviderError) -> _Failure:
        return cls(
            str(exc),
            permanent=exc.permanent,
            code=exc.code,
            retry_after=exc.retry_after,
            ambiguous=not exc.permanent and exc.status is None and not exc.unsent,
        )


@dataclass(slots=True)
class _Claimed:
    """A claimed row and the adapter it goes out through (or why there is none)."""

    outbox_id: int
    adapter: ChannelAdapter | None
    problem: str | None


@dataclass(slots=True)
class _Send:
    """A row marked sending: what goes to the provider, then what came of it."""

    outbox_id: int
    adapter: ChannelAdapter
    message: OutgoingMessage
    #: After an attempt with no answer: the provider is asked first for what it took since then.
    look_since: datetime | None
    result: SendResult | None = None
    failure: _Failure | None = None
    #: The provider may have it and could not tell: outcome unknown, not sent again.
    unknown: bool = False


class OutboxWorker:
    """Sends what the outbox holds for one tenant.

    Args:
        ctx: the service context (database, bus, tenant).
        runtime: gives the adapter of each channel (``ChannelRuntime`` or a test double).
        settings: the orchestrator settings (retry delays, fallback); process ``Settings`` work too.
        clock: the time (defaults to the context's).
        worker_id: this worker's name in leases.
        batch_size: rows claimed per round; they are marked sending together, sent
            concurrently and their results written together.
        send_concurrency: how many of a batch's sends may be waiting for a provider at once
            (each still at its provider's pace, ``limiters``).
        channels: only send on these channels (None: every channel).
    """

    def __init__(
        self,
        ctx: ServiceContext,
        runtime: AdapterSource,
        settings: OrchestratorSettings | Settings | None = None,
        clock: Callable[[], datetime] | None = None,
        worker_id: str | None = None,
        *,
        batch_size: int = BATCH_SIZE,
        send_concurrency: int = SEND_CONCURRENCY,
        lease_seconds: float = 120.0,
        poll_seconds: float = 1.0,
        idle_poll_seconds: float | None = None,
        limiters: RateLimiters | None = None,
        channels: Collection[Channel] | None = None,
    ) -> None:
        if isinstance(settings, Settings):
            settings = settings.orchestrator
        self.ctx = ctx
        self.runtime = runtime
        self.settings = settings or OrchestratorSettings()
        self.clock = clock or ctx.now
        self.worker_id = worker_id or f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.batch_size = batch_size
        self.send_concurrency = max(1, send_concurrency)
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        # Idle, look less and less often (up to this), and at once when something is queued:
        # in team mode fifty idle workers polling every second would load the shared server.
        if idle_poll_seconds is None:
            idle_poll_seconds = 15.0 if ctx.db.dialect == "postgresql" else poll_seconds
        self.idle_poll_seconds = max(poll_seconds, idle_poll_seconds)
        self.limiters = limiters or _limiters(ctx)
        #: Only rows on these channels are taken (None: all); the others are left to workers
        #: that can send them, e.g. a relay holding some providers' secrets only.
        self.channels = frozenset(Channel(c) for c in channels) if channels is not None else None
        self._budget: _Budget | None = None
        self._tenant_settings: TenantSettings | None = None

    # ----------------------------------------------------------------------------------------
    # Loop

    async def run_once(self, *, fall_back: bool = True) -> int:
        """Reconcile interrupted rows, fall back for deliveries reported failed (unless
        ``fall_back`` is false), then claim and send the due ones; returns rows handled."""
        self._budget = None  # re-read each round: other workers and the month move it
        self._tenant_settings = None
        handled = await self.reconcile()
        if fall_back and self.channels is None:  # may need any channel: left to full workers
            handled += await self.fall_back_after_delivery_failures()
        claimed = await self._claim()
        await self._process_batch(claimed)
        return handled + len(claimed)

    async def run_forever(self, stop_event: asyncio.Event) -> None:
        """Work until ``stop_event`` is set; an unexpected error is logged, never fatal.

        Between idle rounds the pause doubles from ``poll_seconds`` up to
        ``idle_poll_seconds``; an ``OutboxQueued`` event (from any process) ends it at once.
        Deliveries reported failed are looked for every ``FALL_BACK_SECONDS`` at most.
        """
        pause = self.poll_seconds
        fell_back = -FALL_BACK_SECONDS
        async with self.ctx.bus.subscribe() as events:
            while not stop_event.is_set():
                fall_back = time.monotonic() - fell_back >= FALL_BACK_SECONDS
                if fall_back:
                    fell_back = time.monotonic()
                try:
                    handled = await self.run_once(fall_back=fall_back)
                except Exception:
                    log.exception("outbox worker round failed")
                    handled = 0
                if handled:
                    pause = self.poll_seconds
                    continue
                woken = await _until_queued(events, stop_event, pause)
                pause = self.poll_seconds if woken else min(pause * 2, self.idle_poll_seconds)

    async def drain(self, max_rounds: int = 10_000) -> None:
        """Run rounds until nothing is due now (tests, ``route_message``)."""
        for _ in range(max_rounds):
            if await self.run_once() == 0:
                return

    async def process_now(self, outbox_id: int) -> None:
        """Claim and send one row if it is due (used to send right away)."""
        await self._process_batch(await self._claim(only=outbox_id))

    # ----------------------------------------------------------------------------------------
    # Claiming

    async def _claim(self, only: int | None = None) -> list[tuple[int, str, str]]:
        now = self.clock()
        free = or_(Out.lease_expires_at.is_(None), Out.lease_expires_at < now)
        due = [
            not_indexed(Out.tenant_id) == self.ctx.tenant_id,  # the status index, not the tenant's
            Out.status.in_(_DUE),
            or_(Out.not_before.is_(None), Out.not_before <= now),
            free,
        ]
        if only is not None:
            due.append(Out.id == only)
        if self.channels is not None:
            due.append(Out.channel_type.in_(sorted(self.channels)))
        # In this process's turn at SQLite's write lock, not in its sleeping busy handler.
        async with self.ctx.db.gate.background(), self.ctx.db.session() as session:
            # SKIP LOCKED: rows another worker is claiming right now are left to it instead of
            # waited for (ignored on SQLite, where one writer at a time is the rule anyway).
            query = (
                select(Out.id)
                .where(*due)
                .order_by(Out.not_before, Out.id)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            )
            ids = list((await session.execute(query)).scalars())
            if not ids:
                return []
            claimed = await session.execute(
                update(Out)
                .where(Out.id.in_(ids), not_indexed(Out.status).in_(_DUE), free)
                .values(lease_owner=self.worker_id, lease_expires_at=now + self.lease)
                .returning(Out.id, Out.channel_type, Out.provider)
                .execution_options(synchronize_session=False)
            )
            return sorted((i, c, p) for i, c, p in claimed.all())

    # ----------------------------------------------------------------------------------------
    # Sending a batch

    async def _process_batch(self, claimed: list[tuple[int, str, str]]) -> None:
        """Send claimed rows: each slice is marked sending in one transaction, sent
        concurrently, and its results written in one transaction."""
        for part in self._slices(claimed):
            sends = await self._start_batch(part)
            if sends:
                await self._send_all(sends)
                await self._record(sends)

    def _slices(self, claimed: list[tuple[int, str, str]]) -> list[list[_Claimed]]:
        """The claimed rows with their adapters, in slices a slow provider's pace gets through
        well within the lease: a row waits for its turn after being marked sending, and one
        still waiting when its lease ends would be taken by another worker's reconciliation."""
        slices: list[list[_Claimed]] = [[]]
        taken: dict[str, int] = {}
        for outbox_id, channel, provider in claimed:
            adapter, problem = self._adapter(Channel(channel), provider)
            if adapter is not None:
                rate = adapter.capabilities.rate_per_second
                room = max(1, int(rate * self.lease.total_seconds() * _PACED_SHARE_OF_LEASE))
                if taken.get(adapter.name, 0) >= room:
                    slices.append([])
                    taken = {}
                taken[adapter.name] = taken.get(adapter.name, 0) + 1
            slices[-1].append(_Claimed(outbox_id, adapter, problem))
        return [part for part in slices if part]

    def _adapter(
        self, channel: Channel, provider: str | None = None
    ) -> tuple[ChannelAdapter | None, str | None]:
        """The row's provider when the channel is set up with it (WhatsApp on Twilio and on
        Meta: the conversation's one), else the channel's primary provider."""
        providers = getattr(self.runtime, "providers", None)
        if providers is None or provider not in providers(channel):
            provider = None
        try:
            if provider is None:
                return self.runtime.adapter(channel), None
            return self.runtime.adapter(channel, provider), None  # type: ignore[call-arg]
        except CoccinelleError as exc:
            return None, str(exc)

    async def _start_batch(self, part: list[_Claimed]) -> list[_Send]:
        """Check each row is still ours and due, then mark it sending: one transaction,
        committed before any of them is sent."""
        now = self.clock()
        sends: list[_Send] = []
        async with self._writing() as (session, events):
            rows, messages = await _rows_and_messages(session, [c.outbox_id for c in part])
            for claimed in part:
                row = rows.get(claimed.outbox_id)
                if row is None or row.lease_owner != self.worker_id or row.status not in _DUE:
                    continue
                message = messages.get(row.message_id) if row.message_id else None
                start = self._start_row(session, row, message, claimed, now, events)
                done, prepared = await _isolated(session, start, row, message)
                if done and prepared is not None:
                    assert claimed.adapter is not None
                    sends.append(_Send(row.id, claimed.adapter, *prepared))
            await _write_loaded(session)
        return sends

    async def _start_row(
        self,
        session: AsyncSession,
        row: t.OutboxRow,
        message: t.MessageRow | None,
        claimed: _Claimed,
        now: datetime,
        events: list[Event],
    ) -> tuple[Any, datetime | None] | None:
        """Mark one due row sending; None when it is closed, held or failed instead."""
        stop = await self._stop_status(session, row, now)
        if stop is not None:
            self._close(row, message, stop, now, events)
            return None
        if await hold_if_paused(session, row, message):  # POLICY CALL SITE 3
            _changed(events, row)
            return None
        channel = Channel(row.channel_type)
        if claimed.adapter is None:
            failure = _Failure(claimed.problem or "", permanent=True)
            await self._failed(session, row, message, failure)
            _changed(events, row)
            return None
        try:
            out = outgoing(row.payload, channel, reference_of(row), now)
        except (CoccinelleError, OSError) as exc:
            await self._failed(session, row, message, _Failure(str(exc), permanent=True))
            _changed(events, row)
            return None
        look_since = self._unanswered_since(row, channel)
        row.status = OutboxStatus.SENDING
        row.attempts = (row.attempts or 0) + 1
        row.lease_expires_at = now + self.lease
        row.updated_at = now
        if message is not None:
            if _may_hold(message, UNSURFACED) and (message.meta or {}).get(UNSURFACED):
                await _surface(session, message, now)
            apply_status(message, MessageStatus.SENDING, at=now)
        _changed(events, row)
        return out, look_since

    def _unanswered_since(self, row: t.OutboxRow, channel: Channel) -> datetime | None:
        """When the row's last attempt on ``channel`` may have reached the provider unanswered
        (a timeout, the round's bound), give or take a lease and clock skew; None otherwise."""
        last = (row.attempts_log or [{}])[-1] if row.attempts_log else {}
        if not last.get("ambiguous") or last.get("channel") != channel or not last.get("at"):
            return None
        return datetime.fromisoformat(last["at"]) - self.lease - timedelta(minutes=5)

    async def _send_all(self, sends: list[_Send]) -> None:
        """Send the rows marked sending, ``send_concurrency`` recipients at a time, each at its
        provider's pace; no transaction is open meanwhile. A recipient's messages go one after
        the other in queue order (the order of a conversation is kept). Each row's outcome is
        kept on it; a send unanswered after half the lease is an unknown outcome."""
        room = asyncio.Semaphore(self.send_concurrency)
        by_recipient: dict[tuple[str, str], list[_Send]] = {}
        for send in sends:
            key = (str(send.message.channel), send.message.to)
            by_recipient.setdefault(key, []).append(send)

        async def in_order(queue: list[_Send]) -> None:
            async with room:
                for send in queue:
                    await self._send_one(send)

        tasks = [asyncio.ensure_future(in_order(queue)) for queue in by_recipient.values()]
        deadline = self.lease.total_seconds() * _SENDS_SHARE_OF_LEASE
        _, late = await asyncio.wait(tasks, timeout=deadline)
        for task in late:
            task.cancel()
        unanswered = [
            send
            for send in sends
            if send.result is None and send.failure is None and not send.unknown
        ]
        if unanswered:
            log.warning(
                "outbox: %d sends unanswered after %.0f s; their outcome is unknown",
                len(unanswered),
                deadline,
            )
        for send in unanswered:
            text = tr("orchestrator.attempt.no_answer", seconds=round(deadline))
            send.failure = _Failure(text, permanent=False, ambiguous=True)

    async def _send_one(self, send: _Send) -> None:
        adapter = send.adapter
        await self.limiters.bucket(adapter.name, adapter.capabilities.rate_per_second).acquire()
        if send.look_since is not None and not await self._absent_at_provider(send):
            return
        try:
            send.result = await adapter.send(send.message)
        except ProviderError as exc:
            send.failure = _Failure.of(exc)
        except Exception as exc:
            log.exception("adapter %s raised an unexpected error", adapter.name)
            send.failure = _Failure(f"{type(exc).__name__}: {exc}", permanent=False, ambiguous=True)

    async def _absent_at_provider(self, send: _Send) -> bool:
        """Whether the provider proves it did not take the message of an attempt left unanswered
        (then it is sent again); else the row's outcome is set: what the provider has, or
        unknown. Asked as an interrupted send is (``ask_provider``): Twilio's ``lookup`` knows
        its SIDs only, and only its message list finds a send whose answer was lost."""
        message = send.message
        assert send.look_since is not None and message.reference is not None
        try:
            answer = await ask_provider(
                send.adapter, message.reference, message.to, message.text, send.look_since
            )
        except ProviderError as exc:  # asked again at the next attempt
            send.failure = _Failure(str(exc), permanent=False, ambiguous=True)
            return False
        if answer.found is not None:
            send.result = answer.found
        elif not answer.surely_absent:
            send.unknown = True
        return answer.surely_absent

    async def _stop_status(
        self, session: AsyncSession, row: t.OutboxRow, now: datetime
    ) -> OutboxStatus | None:
        if row.expires_at is not None and now >= row.expires_at:
            return OutboxStatus.EXPIRED
        if row.appointment_id is not None:
            appointment = await session.get(t.AppointmentRow, row.appointment_id)
            planned_for = (row.payload or {}).get("appointment_starts_at")
            if (
                appointment is None
                or appointment.status in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW)
                or (
                    planned_for and appointment.starts_at.astimezone(UTC).isoformat() != planned_for
                )
            ):
                return OutboxStatus.CANCELLED
        unless_read = (row.payload or {}).get("unless_read_message_id")
        if unless_read is not None:
            first = await session.get(t.MessageRow, unless_read)
            if first is not None and (
                first.read_at is not None or first.status == MessageStatus.READ
            ):
                return OutboxStatus.CANCELLED
        return None

    async def _record(self, sends: list[_Send]) -> None:
        """Write the results of ``sends``, again after a pause while the database refuses them
        (nothing is sent again: the results are kept in memory); the error once it still does.
        """
        codes = [send.failure.code or "error" for send in sends if send.failure is not None]
        if codes:  # told, not only written: a provider refusing a whole batch must show
            log.warning("outbox: %d of %d sends failed (%s)", len(codes), len(sends), codes[0])
        for pause in (*RESULT_RETRY_PAUSES, None):
            try:
                await self._finish_batch(sends)
                return
            except (StorageError, OperationalError) as exc:
                if pause is None:
                    raise
                log.warning("outbox: results of %d sends not written (%s); again", len(sends), exc)
                await asyncio.sleep(pause)

    async def _finish_batch(self, sends: list[_Send]) -> None:
        """Write what happened to each row sent, in one transaction."""
        async with self._writing() as (session, events):
            rows, messages = await _rows_and_messages(session, [send.outbox_id for send in sends])
            for send in sends:
                row = rows.get(send.outbox_id)
                if row is None or row.status != OutboxStatus.SENDING:
                    continue
                message = messages.get(row.message_id) if row.message_id else None
                if send.unknown:
                    _unknown(row, message, self.clock())
                    _changed(events, row)
                    continue
                if send.result is not None:
                    outcome = self._succeeded(session, row, message, send.result, events)
                else:
                    assert send.failure is not None
                    outcome = self._failed(session, row, message, send.failure)
                done, _ = await _isolated(session, outcome, row, message)
                if done:
                    _changed(events, row)
            await _write_loaded(session)

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[tuple[AsyncSession, list[Event]]]:
        """A write transaction that reads what it will write under the locks that keep a
        status callback applied meanwhile (issue 17): on SQLite the write lock, taken first
        (in this process's turn at the gate, not in SQLite's sleeping busy handler); on
        PostgreSQL the tenant's turn among bulk message writers, then the rows
        (``_rows_and_messages``)."""
        async with self.ctx.db.gate.background(), self.ctx.write() as (session, events):
            await _write_lock(session)
            await lock_tenant_messages(session, self.ctx.tenant_id)
            yield session, events

    # ----------------------------------------------------------------------------------------
    # Outcomes

    async def _succeeded(
        self,
        session: AsyncSession,
        row: t.OutboxRow,
        message: t.MessageRow | None,
        result: SendResult,
        events: list[Event],
    ) -> None:
        now = self.clock()
        channel = Channel(row.channel_type)
        row.status = OutboxStatus.SENT
        row.provider_message_id = result.provider_message_id
        row.lease_owner = row.lease_expires_at = None
        row.last_error = None
        row.updated_at = now
        entry = _entry(now, channel, row.attempts, "sent", id=result.provider_message_id)
        row.attempts_log = [*(row.attempts_log or []), entry]
        if message is None:
            return
        message.provider_message_id = result.provider_message_id
        message.provider = row.provider
        message.channel_type = channel
        reached = (
            result.status if STATUS_RANK[result.status] > STATUS_RANK[MessageStatus.SENT] else None
        )
        apply_status(message, MessageStatus.SENT, at=now)
        if reached is not None:
            apply_status(message, reached, at=now)
        if result.segments is not None:
            message.segments = result.segments
        cost = self._cost(row, result)
        if cost is not None:
            message.cost_micros, message.currency = to_micros(cost), result.currency
        _log_on_message(message, entry)
        if cost:
            if self._budget is None:  # read once a round, counting this cost: flushed first
                await _write_loaded(session)
                await session.flush()
            await self._budget_alert(session, cost, now, events)

    def _cost(self, row: t.OutboxRow, result: SendResult) -> Decimal | None:
        if result.cost is not None:
            return result.cost
        if row.fallback_attempts == 0 and (row.decision or {}).get("estimated_cost"):
            return Decimal(row.decision["estimated_cost"])
        return None

    async def _failed(
        self,
        session: AsyncSession,
        row: t.OutboxRow,
        message: t.MessageRow | None,
        failure: _Failure,
    ) -> None:
        now = self.clock()
        channel = Channel(row.channel_type)
        kind = "permanent" if failure.permanent else "transient"
        entry = _entry(
            now,
            channel,
            row.attempts,
            kind,
            code=failure.code,
            error=failure.message,
            ambiguous=failure.ambiguous or None,
        )
        row.attempts_log = [*(row.attempts_log or []), entry]
        row.last_error = failure.message
        row.lease_owner = row.lease_expires_at = None
        row.updated_at = now
        if message is not None:
            _log_on_message(message, entry)
        settings = await self._settings(session)
        delays = self.settings.retry_delays
        attempts = row.attempts or 0
        if not failure.permanent and 0 < attempts <= len(delays):
            wait = max(float(delays[attempts - 1]), float(failure.retry_after or 0))
            when = self._outside_quiet(row, now + timedelta(seconds=wait), settings)
            if row.expires_at is not None and when[0] >= row.expires_at:
                self._close(row, message, OutboxStatus.EXPIRED, now, [])
                return
            self._schedule(row, message, when)
            if message is not None:
                _merge_meta(message, retry_at=when[0].isoformat())
            return
        if not self._fall_back(row, message, now, settings):
            row.status = OutboxStatus.FAILED
            if message is not None:
                apply_status(
                    message,
                    MessageStatus.FAILED,
                    at=now,
                    error_code=failure.code or "failed",
                    error_message=failure.message,
                )

    def _fall_back(
        self,
        row: t.OutboxRow,
        message: t.MessageRow | None,
        now: datetime,
        settings: TenantSettings,
    ) -> bool:
        """Move ``row`` to the next usable channel of its chain; False when there is none."""
        if not self.settings.enable_fallback:
            return False
        chain = list(row.fallback_chain or [])
        contacts = (row.payload or {}).get("contacts") or {}
        origin = Channel(row.channel_type)
        while chain and row.fallback_attempts < self.settings.max_fallback_attempts:
            step = chain.pop(0)
            channel = Channel(step["channel"])
            adapter, _ = self._adapter(channel)
            if adapter is None or not contacts.get(str(channel)):
                continue
            hold = datetime.fromisoformat(step["not_before"]) if step.get("not_before") else None
            moment = max(hold, now) if hold else now
            # the channel's own quiet rules and allowed sending hours, at the fallback's time
            when = self._outside_quiet(row, moment, settings, channel)
            content = for_channel(row.payload or {}, channel, when[0])
            if content is None:  # WhatsApp's window closed by then, and no approved template
                skipped = _entry(now, channel, 0, "skipped", reason=_WINDOW_CLOSED)
                row.attempts_log = [*(row.attempts_log or []), skipped]
                if message is not None:
                    _log_on_message(message, skipped)
                continue
            row.fallback_chain = chain
            row.channel_type, row.provider = channel, adapter.provider
            row.attempts = 0
            row.fallback_attempts += 1
            entry = _entry(now, channel, 0, "fallback", origin=str(origin))
            row.attempts_log = [*(row.attempts_log or []), entry]
            self._schedule(row, message, when)
            if message is not None:
                message.channel_type, message.provider = channel, adapter.provider
                if (row.payload or {}).get("variants"):  # the thread shows what is sent
                    message.content, message.subject = content["text"], content.get("subject")
                text = message.content or ""
                message.segments = count_segments(text).segments if channel == Channel.SMS else None
                _log_on_message(message, entry)
                _merge_meta(
                    message,
                    fallback_attempted=True,
                    fallback_channel=str(channel),
                    first_channel=(message.meta or {}).get("first_channel") or str(origin),
                )
            return True
        row.fallback_chain = chain
        if message is not None and (row.payload or {}).get("left_out"):
            # why the channels that could have taken over were not in the chain
            _merge_meta(message, left_out=list((row.payload or {})["left_out"].values()))
        return False

    def _outside_quiet(
        self,
        row: t.OutboxRow,
        moment: datetime,
        settings: TenantSettings,
        channel: Channel | None = None,
    ) -> tuple[datetime, bool]:
        """``moment``, or the end of the quiet rules (and of ``channel``'s allowed sending
        hours) holding it; and whether it was held."""
        policy = (row.payload or {}).get("policy")
        if not policy:
            return moment, False
        channel = channel or Channel(row.channel_type)
        limits = settings.limits.get(channel)
        release = quiet_release(
            moment,
            policy.get("timezone") or settings.timezone,
            settings.quiet_hours,
            intrusive=channel in INTRUSIVE,
            urgent=policy.get("urgency") == Urgency.URGENT,
            commercial_sms=channel == Channel.SMS
            and policy.get("message_type") == MessageType.MARKETING,
            allowed=(limits.allowed_start, limits.allowed_end) if limits is not None else None,
        )
        return (release, True) if release is not None else (moment, False)

    @staticmethod
    def _schedule(
        row: t.OutboxRow, message: t.MessageRow | None, when: tuple[datetime, bool]
    ) -> None:
        moment, held = when
        row.status = OutboxStatus.HELD if held else OutboxStatus.PENDING
        row.not_before = moment
        if message is not None:
            message.status = MessageStatus.HELD if held else MessageStatus.QUEUED

    async def _settings(self, session: AsyncSession) -> TenantSettings:
        if self._tenant_settings is None:
            tenant = await session.get(t.TenantRow, self.ctx.tenant_id)
            raw = (tenant.settings if tenant else None) or {}
            self._tenant_settings = with_defaults(TenantSettings.model_validate(raw), self.settings)
        return self._tenant_settings

    def _close(
        self,
        row: t.OutboxRow,
        message: t.MessageRow | None,
        status: OutboxStatus,
        now: datetime,
        events: list[Event],
    ) -> None:
        """End ``row`` without sending: expired or cancelled."""
        row.status = status
        row.lease_owner = row.lease_expires_at = None
        row.updated_at = now
        entry = _entry(now, Channel(row.channel_type), row.attempts, str(status))
        row.attempts_log = [*(row.attempts_log or []), entry]
        if message is not None:
            target = (
                MessageStatus.EXPIRED if status == OutboxStatus.EXPIRED else MessageStatus.CANCELLED
            )
            apply_status(message, target, at=now)
            _log_on_message(message, entry)
        _changed(events, row)

    async def _budget_alert(
        self, session: AsyncSession, cost: Decimal, now: datetime, events: list[Event]
    ) -> None:
        """Publish an alert when this send makes the month's spending cross the threshold."""
        if self._budget is None:
            settings = await self._settings(session)
            spent = await month_spending(session, self.ctx.tenant_id, settings.timezone, now)
            self._budget = _Budget(settings.monthly_budget, spent - cost)
        budget = self._budget
        before, budget.spent = budget.spent, budget.spent + cost
        if not budget.amount:
            return
        limit = budget.amount * Decimal(str(self.settings.budget_alert_threshold))
        if before < limit <= budget.spent:
            percent = round(float(budget.spent / budget.amount) * 100)
            text = tr(
                "orchestrator.alert.budget",
                percent=percent,
                budget=budget.amount,
                spent=budget.spent,
            )
            events.append(Alert("budget", text))

    # ----------------------------------------------------------------------------------------
    # Failures reported after the send

    async def fall_back_after_delivery_failures(self) -> int:
        """Fall back for sent messages the provider later reported failed or undelivered
        (status callbacks: WhatsApp 63016 outside the window, 30003 unreachable handset…).

        Only recent sends are looked at; a row with no fallback left is closed as failed.
        """
        now = self.clock()
        m = t.MessageRow
        query = (
            select(Out, m)
            .join(m, m.id == Out.message_id)
            .where(
                not_indexed(Out.tenant_id) == self.ctx.tenant_id,
                Out.status == OutboxStatus.SENT,
                Out.not_before >= now - DELIVERY_FAILURE_HORIZON,
                m.status.in_([MessageStatus.FAILED, MessageStatus.UNDELIVERED]),
            )
            .limit(self.batch_size)
        )
        handled = 0
        async with self.ctx.write() as (session, events):
            settings = await self._settings(session)
            for row, message in (await session.execute(query.with_for_update())).all():
                channel = Channel(row.channel_type)
                entry = _entry(
                    now,
                    channel,
                    row.attempts,
                    "delivery_failed",
                    code=message.error_code,
                    error=message.error_message,
                )
                row.attempts_log = [*(row.attempts_log or []), entry]
                _log_on_message(message, entry)
                if self._fall_back(row, message, now, settings):
                    row.provider_message_id = None
                    message.error_code = message.error_message = None
                else:
                    row.status = OutboxStatus.FAILED
                row.updated_at = now
                _changed(events, row)
                handled += 1
        return handled

    # ----------------------------------------------------------------------------------------
    # Reconciliation after a crash

    async def reconcile(self) -> int:
        """Settle rows left ``sending`` by a worker that stopped mid-send; returns how many."""
        now = self.clock()
        async with self.ctx.db.session() as session:
            query = (
                select(Out.id, Out.channel_type)
                .where(
                    not_indexed(Out.tenant_id) == self.ctx.tenant_id,
                    Out.status == OutboxStatus.SENDING,
                    Out.lease_expires_at < now,
                )
                .limit(self.batch_size)
            )
            if self.channels is not None:
                query = query.where(Out.channel_type.in_(sorted(self.channels)))
            stale = (await session.execute(query)).all()
        settled = 0
        for outbox_id, channel in stale:
            if await self._reconcile_one(outbox_id, Channel(channel), now):
                settled += 1
        return settled

    async def _reconcile_one(self, outbox_id: int, channel: Channel, now: datetime) -> bool:
        async with self.ctx.db.session() as session:
            stale_lease = await session.scalar(
                select(Out.lease_expires_at).where(Out.id == outbox_id)
            )
            taken = await session.execute(
                update(Out)
                .where(
                    Out.id == outbox_id,
                    Out.status == OutboxStatus.SENDING,
                    Out.lease_expires_at < now,
                )
                .values(lease_owner=self.worker_id, lease_expires_at=now + self.lease)
                .execution_options(synchronize_session=False)
            )
            if rows_changed(taken) != 1:
                return False
            row = await session.get(Out, outbox_id)
            assert row is not None
            reference = reference_of(row)
            payload = row.payload or {}
            to = (payload.get("contacts") or {}).get(str(channel))
            # When it was marked sending (its lease started then), give or take clock skew.
            since = (stale_lease or now) - self.lease - timedelta(minutes=5)
        adapter, _ = self._adapter(channel)
        answer = ProviderAnswer()
        if adapter is not None:
            try:
                answer = await ask_provider(
                    adapter, reference, to, payload.get("text") or "", since
                )
            except ProviderError:
                return False  # the lease will expire again and we will ask again
        found = answer.found
        async with self.ctx.write() as (session, events):
            await _write_lock(session)
            row = await session.get(Out, outbox_id)
            if row is None or row.status != OutboxStatus.SENDING:
                return False
            message = await _message(session, row)
            if found is not None:
                await self._succeeded(session, row, message, found, events)
            elif answer.surely_absent:
                entry = _entry(now, channel, row.attempts, "not_found_at_provider")
                row.attempts_log = [*(row.attempts_log or []), entry]
                row.status = OutboxStatus.PENDING
                row.lease_owner = row.lease_expires_at = None
                if message is not None:
                    message.status = MessageStatus.QUEUED
            else:
                _unknown(row, message, now)
            _changed(events, row)
        return True


# --------------------------------------------------------------------------------------------
# Helpers


async def _write_lock(session: AsyncSession) -> None:
    """On SQLite, take the write lock before reading what will be written.

    Otherwise the reads run before the transaction begins (SQLite begins it at the first
    write): a status callback applied meanwhile by ingest is not seen, and writing "sent" over
    its "delivered" loses it for good (issue 17: messages left "sent"). On PostgreSQL the
    message is locked as it is read (``_message``)."""
    if session.get_bind().dialect.name == "sqlite":
        await session.execute(text("BEGIN IMMEDIATE"))


def _unknown(row: t.OutboxRow, message: t.MessageRow | None, now: datetime) -> None:
    """The provider may have taken ``row``'s message and cannot tell: shown as outcome unknown
    for an agent to check and resend, never sent again blindly."""
    entry = _entry(now, Channel(row.channel_type), row.attempts, "unknown")
    row.attempts_log = [*(row.attempts_log or []), entry]
    row.status = OutboxStatus.UNKNOWN
    row.lease_owner = row.lease_expires_at = None
    row.updated_at = now
    if message is not None:
        apply_status(message, MessageStatus.UNKNOWN, at=now)
        _log_on_message(message, entry)


async def _rows_and_messages(
    session: AsyncSession, ids: list[int]
) -> tuple[dict[int, t.OutboxRow], dict[int, t.MessageRow]]:
    """The outbox rows ``ids`` and their messages, the messages locked until the commit in id
    order (PostgreSQL; SQLite: ``_write_lock``). Read as plain records (``core.outbox.loaded``),
    not ORM instances: what the rules set on them is written by ``_write_loaded``."""
    rows = await load(session, Out, ids)
    message_ids = [row.message_id for row in rows.values() if row.message_id]
    messages = await load(session, t.MessageRow, message_ids, lock=True)
    session.info.setdefault(_LOADED, []).extend([*rows.values(), *messages.values()])
    return cast(dict[int, t.OutboxRow], rows), cast(dict[int, t.MessageRow], messages)


#: Where a transaction keeps the records ``_rows_and_messages`` read (``session.info``).
_LOADED = "outbox_loaded"


async def _write_loaded(session: AsyncSession) -> None:
    """Write what the rules set on the transaction's records so far (before the commit, or
    before a read that must see it)."""
    await write_back(session, session.info.get(_LOADED, ()))


def _may_hold(message: t.MessageRow, key: str) -> bool:
    """Whether ``message``'s metadata may have ``key`` (a plain record tells without decoding
    them: a batch's sends need them only when the key is there)."""
    return message.may_hold("meta", key) if isinstance(message, Loaded) else True


async def _isolated(
    session: AsyncSession,
    work: Awaitable[_T],
    row: t.OutboxRow,
    message: t.MessageRow | None,
) -> tuple[bool, _T | None]:
    """Run one row's part of a batch's transaction; if it fails (other than the database),
    its unflushed changes are dropped and the others' kept: (done, what it returned).

    The row stays as it was in the database: leased (taken again once the lease ends) or
    sending (reconciled then), as when its own transaction failed before batches."""
    records: list[Any] = [row, message]
    kept = [(record, record.snapshot()) for record in records if isinstance(record, Loaded)]
    try:
        return True, await work
    except SQLAlchemyError:
        raise
    except Exception:
        log.exception("outbox row %s could not be updated; left for a later round", row.id)
        for record, values in kept:
            record.forget(values)
        for instance in records:
            if instance is not None and not isinstance(instance, Loaded):
                session.expire(instance)
        return False, None


async def _message(session: AsyncSession, row: t.OutboxRow) -> t.MessageRow | None:
    """The row's message, locked until the commit (PostgreSQL; SQLite: ``_write_lock``)."""
    if not row.message_id:
        return None
    return await session.get(t.MessageRow, row.message_id, with_for_update=True)


def _entry(
    at: datetime, channel: Channel, attempt: int | None, outcome: str, **extra: Any
) -> dict[str, Any]:
    entry = {"at": at.isoformat(), "channel": str(channel), "attempt": attempt, "outcome": outcome}
    entry.update({k: v for k, v in extra.items() if v is not None})
    return entry


def _merge_meta(message: t.MessageRow, **values: Any) -> None:
    # JSON columns are not mutation-tracked: assign a new dict.
    message.meta = {**(message.meta or {}), **values}


def _log_on_message(message: t.MessageRow, entry: dict[str, Any]) -> None:
    attempts = list((message.meta or {}).get("attempts") or [])
    _merge_meta(message, attempts=[*attempts, entry])


def _changed(events: list[Event], row: t.OutboxRow) -> None:
    if row.message_id is not None and row.conversation_id is not None:
        events.append(MessageChanged(row.message_id, row.conversation_id))
        events.append(ConversationChanged(row.conversation_id))


def _limiters(ctx: ServiceContext) -> RateLimiters:
    """Per-process buckets; on a shared PostgreSQL, a pace every sending process respects."""
    if ctx.db.dialect != "postgresql":
        return RateLimiters()
    from core.team.rate_limit import SharedPace

    return RateLimiters(lambda name, rate: SharedPace(ctx.db, f"{ctx.tenant_id}:{name}", rate))


async def _until_queued(events: asyncio.Queue[Event], stop: asyncio.Event, seconds: float) -> bool:
    """Wait up to ``seconds`` for something to be queued (True) or ``stop`` (False)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not stop.is_set():
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            return False
        waiter = asyncio.ensure_future(events.get())
        stopper = asyncio.ensure_future(stop.wait())
        done, pending = await asyncio.wait(
            {waiter, stopper}, timeout=left, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        if waiter in done and isinstance(waiter.result(), OutboxQueued | Resync):
            return True
    return False


async def _surface(session: AsyncSession, message: t.MessageRow, now: datetime) -> None:
    """A scheduled message going out becomes its conversation's latest activity only now."""
    message.meta = {k: v for k, v in message.meta.items() if k != UNSURFACED}
    conversation = await session.get(t.ConversationRow, message.conversation_id)
    if conversation is not None:
        surface_item(
            conversation,
            at=now,
            text=message.subject or message.content,
            direction=message.direction,
            sender_type=message.sender_type,
        )
