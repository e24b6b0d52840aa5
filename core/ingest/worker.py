"""The ingest worker: stored raw events become domain changes, in order, exactly once.

Each event is claimed and marked processed in the same transaction as its effects, so a crash
leaves it pending (processed on the next start) and a second worker never applies it twice.
Several workers (one per relay in team mode) go through the pending events in id order; one
reaching an event another has claimed waits on its row lock until that commit, then moves on,
so a tenant's events are applied one after the other, in order.
What changed is published on the event bus after the commit.

    worker = IngestWorker(service.ctx, adapters)
    await worker.run_once()              # everything pending now
    task = asyncio.create_task(worker.run(stop))   # or keep going until ``stop`` is set
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import or_, select, update

from core.booking.service import Booking
from core.channels.adapter import WebhookRequest
from core.channels.multipart import prepare_form
from core.channels.runtime import AdapterLookup, find_adapter
from core.domain.enums import Channel, InboundEventStatus, Provider
from core.domain.tenant_settings import TenantSettings
from core.errors import CoccinelleError
from core.ingest.apply import Ignored, apply_event
from core.ingest.retry import RETRY_DELAYS, after_failure, failure_reason
from core.storage import tables as t
from core.storage.database import was_announced
from core.storage.inbound_step import AppointmentNotice, IngestStep
from core.storage.service_context import ServiceContext

log = logging.getLogger(__name__)
E = t.InboundEventRow
POLL_SECONDS = 1.0
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
        self._wake = asyncio.Event()
        self._own: frozenset[str] = frozenset()

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
            ids = await self._pending_ids()
            if not ids:
                return done
            settings, providers = await self._tenant_setup()
            for event_id in ids:
                await self.process(event_id, settings, providers)
                done += 1

    async def _pending_ids(self) -> list[int]:
        due = or_(E.next_attempt_at.is_(None), E.next_attempt_at <= self.ctx.now())
        query = (
            select(E.id)
            .where(
                E.status == InboundEventStatus.PENDING, E.tenant_id == self.ctx.tenant_id, due
            )
            .order_by(E.id)
            .limit(self.batch)
        )
        async with self.ctx.db.session() as session:
            return list((await session.execute(query)).scalars().all())

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
        now = self.ctx.now()
        step: IngestStep | None = None
        try:
            async with self.ctx.db.session() as session:
                claimed = await session.execute(
                    update(E)
                    .where(E.id == event_id, E.status == InboundEventStatus.PENDING)
                    .values(
                        status=InboundEventStatus.PROCESSED,
                        processed_at=now,
                        attempts=E.attempts + 1,
                        error=None,
                        next_attempt_at=None,
                    )
                )
                if claimed.rowcount == 0:
                    return  # another worker took it
                row = await session.get(E, event_id)
                assert row is not None
                step = IngestStep(
                    session,
                    self.ctx.tenant_id,
                    event_id,
                    now,
                    settings,
                    providers,
                    booking=self.booking,
                    own_addresses=self._own,
                )
                notes = await self._apply(step, row)
                if notes:
                    row.error = "; ".join(notes)[:500]
        except Exception as exc:
            await self._fail(event_id, exc)
            return
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

    async def _apply(self, step: IngestStep, row: E) -> list[str]:
        channel = Channel(row.headers.get("channel") or "sms")
        adapter = find_adapter(self.adapters, channel, row.provider)
        if adapter is None:
            raise CoccinelleError(f"no {channel} adapter is configured to read this event")
        notes = []
        request = stored_request(row)
        await prepare_form(request, len(request.body))  # a large mail is parsed off the loop
        for event in adapter.parse(request):
            try:
                await apply_event(step, event)
            except Ignored as exc:  # a status for a message we do not know: nothing to change
                log.info("inbound event %s: %s", row.id, exc)
                notes.append(f"ignored: {exc}")
        return notes

    async def _fail(self, event_id: int, exc: Exception) -> None:
        """Schedule the event's next attempt, or park it (see ``core.ingest.retry``)."""
        log.warning("inbound event %s failed: %s", event_id, failure_reason(exc))
        if not isinstance(exc, CoccinelleError | ValueError):
            log.exception("unexpected error in ingest", exc_info=exc)
        async with self.ctx.db.session() as session:
            row = await session.get(E, event_id)
            # Only if still pending: after this worker's rollback another may have applied it.
            if row is None or row.status != InboundEventStatus.PENDING:
                return
            values = after_failure(row.attempts + 1, exc, self.ctx.now(), self.retry_delays)
            await session.execute(
                update(E)
                .where(E.id == event_id, E.status == InboundEventStatus.PENDING)
                .values(**values)
            )


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
        options = getattr(getattr(adapter, "config", None), "options", None) or {}
        found.update(str(options[name]) for name in _OWN_OPTIONS if options.get(name))
    return frozenset(found)


def stored_request(row: E) -> WebhookRequest:
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
