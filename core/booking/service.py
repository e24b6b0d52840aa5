"""Booking: free slots, book, move, confirm, cancel, done and no-show, never double-booking.

The part of the facade that the TUI's booking panel, the Telegram ``/nouveau_rdv`` flow and the
answers to a booking proposal call. It never sends a message itself: whoever must react to a
change (reminders, the confirmation or cancellation message, the satisfaction survey) registers a
hook in ``on_change`` and receives an ``AppointmentChange`` once the change is committed.

No double booking, even when two people book the same agent at once: the check and the insert
run in one transaction that first takes the agent's lock (``SELECT … FOR UPDATE`` on the agent's
row on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite, whose single writer then waits its turn).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.booking.errors import BookingRefused, most_telling, refusal_error
from core.booking.ics import CalendarEvent, google_calendar_link, to_ics
from core.booking.parse_when import When, parse_when
from core.booking.slots import Busy, Calendar, Refusal, Slot, check_slot, free_slots
from core.domain import models as m
from core.domain.appointment_changes import (
    AppointmentChange,
    ChangeKind,
    OnChange,
    event_line,
    event_meta,
)
from core.domain.appointment_display import BothTimes, both_times, kind_in, kind_label
from core.domain.availability import AppointmentType
from core.domain.enums import (
    AppointmentStatus,
    Channel,
    SenderType,
)
from core.domain.tenant_settings import TenantSettings
from core.errors import InvalidInput, NotFound
from core.events import Alert, AppointmentChanged, ConversationChanged, MessageChanged
from core.i18n import t
from core.i18n.deferred import Line
from core.i18n.prospect import text_in
from core.storage import convert
from core.storage import tables as t_
from core.storage.service_context import ServiceContext
from core.storage.timeline import open_conversation, record_event

log = logging.getLogger(__name__)

A = t_.AppointmentRow

#: The location of an appointment held at a distance (the prospect's texts say "by phone").
PHONE = "phone"
VIDEO = "video"
REMOTE_PLACES = (PHONE, VIDEO)

#: States an appointment can still leave; the others are final.
LIVE = (AppointmentStatus.PROPOSED, AppointmentStatus.CONFIRMED)


class Booking:
    """Free slots and the life of appointments, for the app and for the prospects' channels."""

    def __init__(self, ctx: ServiceContext, on_change: Iterable[OnChange] = ()) -> None:
        self.ctx = ctx
        self.on_change: list[OnChange] = list(on_change)

    async def calendar(self) -> Calendar:
        """The tenant's booking rules, zone and country, as slot computation needs them."""
        settings = await self._settings()
        return _calendar(settings)

    async def propose_slots(
        self,
        kind: str = "visit",
        *,
        agent_id: int | None = None,
        after: datetime | None = None,
        before: datetime | None = None,
        count: int = 5,
        ignoring: int | None = None,
    ) -> list[Slot]:
        """The next ``count`` free slots for an appointment of ``kind``.

        Args:
            kind: the appointment type's key (``visit``, ``valuation``…).
            agent_id: one agent, or None for whichever agent is free.
            after: the earliest start (default: now plus the minimum notice).
            before: the latest end (default: the booking horizon).
            count: how many slots.
            ignoring: an appointment to leave out (the one being moved).
        """
        async with self.ctx.db.session() as session:
            return await self.propose_in(
                session,
                kind,
                agent_id=agent_id,
                after=after,
                before=before,
                count=count,
                ignoring=ignoring,
            )

    async def propose_in(
        self,
        session: AsyncSession,
        kind: str = "visit",
        *,
        agent_id: int | None = None,
        after: datetime | None = None,
        before: datetime | None = None,
        count: int = 5,
        ignoring: int | None = None,
    ) -> list[Slot]:
        """``propose_slots`` inside the caller's transaction (Sara, during ingest)."""
        if not 1 <= count <= 100:
            raise InvalidInput("count", count, "1 to 100 slots")
        settings = await _settings_in(session, self.ctx.tenant_id)
        calendar = _calendar(settings)
        item = _type(calendar, kind)
        now = self.ctx.now()
        agents = await _agents_in(session, self.ctx.tenant_id, agent_id)
        horizon = now + timedelta(days=calendar.booking.horizon_days + 1)
        busy = await _busy(session, calendar, [a.id for a in agents], now, horizon, ignoring)
        return free_slots(
            calendar,
            item,
            [a.id for a in agents],
            busy,
            now,
            after=after,
            before=before,
            count=count,
        )

    async def book(
        self,
        prospect_id: int,
        starts_at: datetime,
        *,
        kind: str = "visit",
        agent_id: int | None = None,
        location: str | None = None,
        notes: str | None = None,
        confirmed: bool = False,
        by: SenderType = SenderType.AGENT,
        conversation_id: int | None = None,
    ) -> m.Appointment:
        """Book an appointment at ``starts_at`` with ``agent_id`` (or any free agent).

        ``location`` is a property's key, an address, ``PHONE`` / ``VIDEO``, or None for the
        type's usual place (the agency's address for a signing, none for a call). ``confirmed``
        (the prospect already agreed) needs a place: a call is then by phone; otherwise an
        agent's booking with no place is refused (``place_required``).

        Raises:
            BookingRefused: in the past, a holiday, outside working hours, an unknown type or
                agent; ``SlotTaken`` (a ``BookingRefused``) when the agent is no longer free.
            NotFound: no such prospect.
        """
        _aware(starts_at)
        settings = await self._settings()
        _type(_calendar(settings), kind)
        agents = await self._agents(agent_id)
        await self._prospect(prospect_id)
        async with self.ctx.write() as (session, events):
            change = await self._insert(
                session,
                events,
                settings,
                agents,
                prospect_id,
                starts_at,
                kind=kind,
                location=location,
                notes=notes,
                confirmed=confirmed,
                by=by,
                conversation_id=conversation_id,
                begin=True,
            )
        await self._notify(change)
        return change.appointment

    async def book_in(
        self,
        session: AsyncSession,
        events: list,
        prospect_id: int,
        starts_at: datetime,
        *,
        kind: str = "visit",
        agent_id: int | None = None,
        location: str | None = None,
        notes: str | None = None,
        confirmed: bool = False,
        by: SenderType = SenderType.PROSPECT,
        conversation_id: int | None = None,
    ) -> AppointmentChange:
        """``book`` inside the caller's transaction, which must already be writing (the ingest
        transaction: on SQLite it holds the write lock, on PostgreSQL the agent's row is locked).

        The caller commits, publishes ``events``, then hands the change to ``notify``: hooks
        (reminders, confirmation) run exactly as after ``book``.

        Raises:
            BookingRefused: as ``book``; nothing was written then.
        """
        _aware(starts_at)
        settings = await _settings_in(session, self.ctx.tenant_id)
        _type(_calendar(settings), kind)
        agents = await _agents_in(session, self.ctx.tenant_id, agent_id)
        prospect = await session.get(t_.ProspectRow, prospect_id)
        if prospect is None or prospect.tenant_id != self.ctx.tenant_id:
            raise NotFound("prospect", prospect_id)
        return await self._insert(
            session,
            events,
            settings,
            agents,
            prospect_id,
            starts_at,
            kind=kind,
            location=location,
            notes=notes,
            confirmed=confirmed,
            by=by,
            conversation_id=conversation_id,
            begin=False,
        )

    async def _insert(
        self,
        session: AsyncSession,
        events: list,
        settings: TenantSettings,
        agents: Sequence[m.Agent],
        prospect_id: int,
        starts_at: datetime,
        *,
        kind: str,
        location: str | None,
        notes: str | None,
        confirmed: bool,
        by: SenderType,
        conversation_id: int | None,
        begin: bool,
    ) -> AppointmentChange:
        calendar = _calendar(settings)
        item = _type(calendar, kind)
        place = _location(settings, item, location)
        if confirmed and place is None and item.where == "remote":
            place = PHONE  # a call
        elif confirmed and place is None and by == SenderType.AGENT:
            # an agent's "confirmed, place to be specified" is no confirmation
            raise BookingRefused("place_required", "location", location)
        agent = await self._reserve(session, calendar, item, agents, starts_at, None, begin=begin)
        row = A(
            tenant_id=self.ctx.tenant_id,
            prospect_id=prospect_id,
            agent_id=agent.id,
            kind=item.key,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=item.minutes),
            location=place,
            notes=notes,
            status=AppointmentStatus.CONFIRMED if confirmed else AppointmentStatus.PROPOSED,
            confirmed_at=self.ctx.now() if confirmed else None,
            created_at=self.ctx.now(),
            updated_at=self.ctx.now(),
        )
        session.add(row)
        await session.flush()
        return await self._record(
            session, events, calendar, ChangeKind.BOOKED, row, None, by, conversation_id
        )

    async def book_slot(
        self,
        prospect_id: int,
        slot: Slot,
        *,
        location: str | None = None,
        confirmed: bool = False,
        by: SenderType = SenderType.AGENT,
        conversation_id: int | None = None,
    ) -> m.Appointment:
        """Book a slot ``propose_slots`` gave (its agent, start and kind); see ``book``."""
        return await self.book(
            prospect_id,
            slot.start,
            kind=slot.kind,
            agent_id=slot.agent_id,
            location=location,
            confirmed=confirmed,
            by=by,
            conversation_id=conversation_id,
        )

    async def read_answer(self, text: str) -> When | None:
        """What time or window a prospect's answer names ("demain 15h", "mardi matin").

        None when it is not clear: then nothing is booked and the agent decides. An exact time
        can go to ``book``; a window to ``propose_slots(after=when.start, before=when.end)``.
        """
        settings = await self._settings()
        return parse_when(text, self.ctx.now(), settings.timezone)

    async def upcoming(self, prospect_id: int) -> list[m.Appointment]:
        """The prospect's appointments still to come and not cancelled (``/rdv``, ``/annuler``)."""
        query = (
            select(A)
            .where(
                A.tenant_id == self.ctx.tenant_id,
                A.prospect_id == prospect_id,
                A.status.in_([s.value for s in LIVE]),
                A.ends_at > self.ctx.now(),
            )
            .order_by(A.starts_at)
        )
        async with self.ctx.db.session() as session:
            rows = (await session.execute(query)).scalars().all()
        return [convert.appointment(r) for r in rows]

    async def move(
        self,
        appointment_id: int,
        starts_at: datetime,
        *,
        agent_id: int | None = None,
        by: SenderType = SenderType.AGENT,
        conversation_id: int | None = None,
    ) -> m.Appointment:
        """Move an appointment to ``starts_at`` (and to ``agent_id`` if given).

        Its length follows its type. The same checks as a booking apply; the appointment itself
        is not in the way of its new time.
        """
        _aware(starts_at)
        calendar = await self.calendar()
        current = await self._get(appointment_id)
        _must_be_live(current)
        item = calendar.booking.type_of(current.kind) or _as_type(current)
        agents = await self._agents(agent_id or current.agent_id)
        async with self.ctx.write() as (session, events):
            agent = await self._reserve(session, calendar, item, agents, starts_at, current.id)
            row = await self._row(session, appointment_id)
            _must_be_live(convert.appointment(row))
            row.agent_id = agent.id
            row.starts_at = starts_at
            row.ends_at = starts_at + timedelta(minutes=item.minutes)
            t_.touch(row, self.ctx.now())
            change = await self._record(
                session, events, calendar, ChangeKind.MOVED, row, current, by, conversation_id
            )
        await self._notify(change)
        return change.appointment

    async def confirm(
        self, appointment_id: int, *, by: SenderType = SenderType.PROSPECT
    ) -> m.Appointment:
        """The prospect confirmed (an OUI to a reminder, a button): proposed → confirmed."""
        return await self._set(appointment_id, ChangeKind.CONFIRMED, by=by)

    async def cancel(
        self,
        appointment_id: int,
        reason: str | None = None,
        *,
        by: SenderType = SenderType.AGENT,
        conversation_id: int | None = None,
    ) -> m.Appointment:
        """Cancel an appointment; ``reason`` goes into the thread and to the hooks."""
        clean = " ".join((reason or "").split())[:200] or None
        return await self._set(
            appointment_id,
            ChangeKind.CANCELLED,
            by=by,
            reason=clean,
            conversation_id=conversation_id,
        )

    async def mark_done(self, appointment_id: int) -> m.Appointment:
        """The appointment took place (hooks then send the satisfaction survey)."""
        return await self._set(appointment_id, ChangeKind.DONE, by=SenderType.AGENT)

    async def mark_no_show(self, appointment_id: int) -> m.Appointment:
        """The prospect did not come (hooks then offer to book again)."""
        return await self._set(appointment_id, ChangeKind.NO_SHOW, by=SenderType.AGENT)

    async def when(self, appointment: m.Appointment) -> BothTimes:
        """The appointment's start in the agency's zone and, if it differs, the prospect's."""
        settings = await self._settings()
        prospect = await self._prospect(appointment.prospect_id)
        return both_times(appointment.starts_at, settings.timezone, prospect.timezone)

    async def calendar_event(
        self, appointment_id: int, language: str | None = None
    ) -> CalendarEvent:
        """The appointment as a calendar event (for the ``.ics`` file and the calendar link).

        ``language``: the prospect's, for the title and description of the event sent to them
        (the app's language when None).
        """
        say = partial(text_in, language) if language else t
        settings = await self._settings()
        async with self.ctx.db.session() as session:
            row = await self._row(session, appointment_id)
            appointment = convert.appointment(row)
            changes = max(0, int((row.updated_at - row.created_at).total_seconds()))
        agent = await self._agent_name(appointment.agent_id)
        company = settings.company
        label = (
            kind_in(language, appointment.kind, settings.booking)
            if language
            else kind_label(appointment.kind, settings.booking)
        )
        cancelled = appointment.status == AppointmentStatus.CANCELLED
        return CalendarEvent(
            uid=f"appointment-{appointment.id}-{self.ctx.tenant_id}@coccinelle.invalid",
            start=appointment.starts_at,
            end=appointment.ends_at,
            timezone=settings.timezone,
            summary=say(
                "appointments.ics.cancelled" if cancelled else "appointments.ics.summary",
                kind=label.capitalize(),
                company=company.name,
            ),
            location=appointment.location,
            description=say(
                "appointments.ics.description",
                kind=label.capitalize(),
                agent=agent,
                company=company.name,
                phone=company.phone,
            ),
            organizer_name=company.name,
            organizer_email=company.email,
            stamp=self.ctx.now(),
            sequence=changes,
            cancelled=cancelled,
        )

    async def ics(self, appointment_id: int) -> str:
        """The appointment as an iCalendar file (the confirmation email's attachment)."""
        return to_ics(await self.calendar_event(appointment_id))

    async def calendar_link(self, appointment_id: int) -> str:
        """The "add to calendar" link of the confirmation email (Google Calendar)."""
        return google_calendar_link(await self.calendar_event(appointment_id))

    # -- inside ---------------------------------------------------------------------------

    async def _reserve(
        self,
        session: AsyncSession,
        calendar: Calendar,
        item: AppointmentType,
        agents: Sequence[m.Agent],
        start: datetime,
        ignoring: int | None,
        *,
        begin: bool = True,
    ) -> m.Agent:
        """Lock the candidate agents in id order and return the first one free at ``start``.

        ``begin`` takes SQLite's write lock first; a transaction that already wrote has it.
        """
        if begin and self.ctx.db.dialect == "sqlite":
            await session.execute(text("BEGIN IMMEDIATE"))
        refusals: list[tuple[m.Agent, Refusal]] = []
        for agent in agents:
            if self.ctx.db.dialect == "postgresql":
                lock = select(t_.AgentRow.id).where(t_.AgentRow.id == agent.id).with_for_update()
                await session.execute(lock)
            busy = await _busy(
                session,
                calendar,
                [agent.id],
                start - timedelta(days=1),
                start + timedelta(days=2),
                ignoring,
            )
            refusal = check_slot(calendar, item, agent.id, start, busy, self.ctx.now())
            if refusal is None:
                return agent
            refusals.append((agent, refusal))
        agent, refusal = most_telling(refusals)
        raise refusal_error(calendar, start, agent.id, agent.name, refusal)

    async def _set(
        self,
        appointment_id: int,
        kind: ChangeKind,
        *,
        by: SenderType,
        reason: str | None = None,
        conversation_id: int | None = None,
    ) -> m.Appointment:
        async with self.ctx.write() as (session, events):
            change = await self.change_in(
                session,
                events,
                appointment_id,
                kind,
                by=by,
                reason=reason,
                conversation_id=conversation_id,
            )
            if change is None:
                return convert.appointment(await self._row(session, appointment_id))
        await self._notify(change)
        return change.appointment

    async def change_in(
        self,
        session: AsyncSession,
        events: list,
        appointment_id: int,
        kind: ChangeKind,
        *,
        by: SenderType,
        reason: str | None = None,
        conversation_id: int | None = None,
        note: Line | None = None,
        meta: dict[str, object] | None = None,
    ) -> AppointmentChange | None:
        """Confirm, cancel, mark done or no-show inside the caller's transaction.

        The same checks as ``confirm``/``cancel``/``mark_done``/``mark_no_show``; ``note`` (a
        ``core.i18n.deferred.line``) replaces the thread event and ``meta`` adds to its meta
        (Sara says what the prospect answered). Returns None when nothing changes (a second
        confirmation); otherwise the caller hands the change to ``notify`` after its commit.

        Raises:
            BookingRefused: the appointment is final, or not started (done, no-show).
            InvalidInput: ``kind`` is not a status change (use ``book_in`` or ``move``).
        """
        if kind in (ChangeKind.BOOKED, ChangeKind.MOVED):
            raise InvalidInput("kind", kind, "confirmed, cancelled, done or no_show")
        calendar = _calendar(await _settings_in(session, self.ctx.tenant_id))
        row = await self._row(session, appointment_id)
        previous = convert.appointment(row)
        _must_be_live(previous)
        if kind == ChangeKind.CONFIRMED and previous.status == AppointmentStatus.CONFIRMED:
            return None  # a second OUI changes nothing
        if kind in (ChangeKind.DONE, ChangeKind.NO_SHOW) and self.ctx.now() < row.starts_at:
            raise BookingRefused("not_started", "status", kind.value)
        row.status = AppointmentStatus(kind.value)
        t_.touch(row, self.ctx.now())
        if kind in (ChangeKind.CONFIRMED, ChangeKind.DONE) and row.confirmed_at is None:
            row.confirmed_at = self.ctx.now()
        return await self._record(
            session,
            events,
            calendar,
            kind,
            row,
            previous,
            by,
            conversation_id,
            reason,
            note=note,
            meta=meta,
        )

    async def notify(self, change: AppointmentChange) -> None:
        """Run the hooks for a change made by ``book_in``/``change_in``, once committed."""
        await self._notify(change)

    async def _record(
        self,
        session: AsyncSession,
        events: list,
        calendar: Calendar,
        kind: ChangeKind,
        row: A,
        previous: m.Appointment | None,
        by: SenderType,
        conversation_id: int | None,
        reason: str | None = None,
        *,
        note: Line | None = None,
        meta: dict[str, object] | None = None,
    ) -> AppointmentChange:
        """Write the change into the prospect's thread; queue the events to publish."""
        await session.flush()
        appointment = convert.appointment(row)
        conversation = await self._conversation(session, row.prospect_id, conversation_id)
        stored = note or event_line(
            kind,
            appointment,
            previous,
            reason,
            timezone=calendar.timezone,
            booking=calendar.booking,
        )
        message = await record_event(
            session,
            conversation,
            stored,
            sender_type=by if by != SenderType.PROSPECT else SenderType.SARA,
            sender_id=self.ctx.agent_id if by == SenderType.AGENT else None,
            meta={**event_meta(kind, appointment, previous, by, reason), **(meta or {})},
            created_at=self.ctx.now(),
        )
        events.extend(
            [
                AppointmentChanged(row.id),
                MessageChanged(message.id, conversation.id),
                ConversationChanged(conversation.id),
            ]
        )
        return AppointmentChange(kind, appointment, previous, by, conversation.id, reason)

    async def _notify(self, change: AppointmentChange) -> None:
        """Run every hook; one failing never undoes the committed change, but raises an alert."""
        for hook in self.on_change:
            try:
                await hook(change)
            except Exception:
                step = getattr(hook, "__qualname__", type(hook).__name__)
                log.exception("appointment hook %s failed for %s", step, change.appointment.id)
                message = t(
                    "appointments.hook.failed", appointment_id=change.appointment.id, step=step
                )
                self.ctx.bus.publish(Alert(f"appointment-hook:{change.appointment.id}", message))

    async def _conversation(
        self, session: AsyncSession, prospect_id: int, conversation_id: int | None
    ) -> t_.ConversationRow:
        """The thread to record a change in: the one given, else the prospect's latest."""
        C = t_.ConversationRow
        if conversation_id is not None:
            row = await session.get(C, conversation_id)
            if row is None or row.prospect_id != prospect_id:
                raise NotFound("conversation", conversation_id)
            return row
        query = select(C).where(C.prospect_id == prospect_id).order_by(C.id.desc()).limit(1)
        row = (await session.execute(query)).scalar_one_or_none()
        if row is not None:
            return row
        prospect = await session.get(t_.ProspectRow, prospect_id)
        assert prospect is not None
        person = convert.prospect(prospect)
        # a thread one can write in, not a call log
        reachable = [c for c in person.reachable_channels() if c != Channel.VOICE]
        channel = Channel(prospect.preferred_channel or (reachable[0] if reachable else "sms"))
        return await open_conversation(
            session,
            prospect,
            channel,
            identifier=person.identifier(channel),
            created_at=self.ctx.now(),
        )

    async def _settings(self) -> TenantSettings:
        async with self.ctx.db.session() as session:
            return await _settings_in(session, self.ctx.tenant_id)

    async def _agents(self, agent_id: int | None) -> list[m.Agent]:
        """The agent asked for (checked), or every active agent; in id order (lock order)."""
        async with self.ctx.db.session() as session:
            return await _agents_in(session, self.ctx.tenant_id, agent_id)

    async def _agent_name(self, agent_id: int | None) -> str:
        async with self.ctx.db.session() as session:
            row = await session.get(t_.AgentRow, agent_id) if agent_id else None
        return row.name if row else t("common.unknown")

    async def _prospect(self, prospect_id: int) -> m.Prospect:
        async with self.ctx.db.session() as session:
            row = await session.get(t_.ProspectRow, prospect_id)
            if row is None or row.tenant_id != self.ctx.tenant_id:
                raise NotFound("prospect", prospect_id)
            return convert.prospect(row)

    async def _get(self, appointment_id: int) -> m.Appointment:
        async with self.ctx.db.session() as session:
            return convert.appointment(await self._row(session, appointment_id))

    async def _row(self, session: AsyncSession, appointment_id: int) -> A:
        row = await session.get(A, appointment_id)
        if row is None or row.tenant_id != self.ctx.tenant_id:
            raise NotFound("appointment", appointment_id)
        return row


async def _busy(
    session: AsyncSession,
    calendar: Calendar,
    agent_ids: list[int],
    start: datetime,
    end: datetime,
    ignoring: int | None,
) -> list[Busy]:
    """The agents' appointments (not cancelled) around [start, end), buffers included."""
    query = select(A.id, A.agent_id, A.kind, A.starts_at, A.ends_at).where(
        A.agent_id.in_(agent_ids),
        A.status != AppointmentStatus.CANCELLED,
        A.starts_at < end,
        A.ends_at > start - timedelta(days=1),
    )
    if ignoring is not None:
        query = query.where(A.id != ignoring)
    rows = (await session.execute(query)).all()
    return [
        Busy(r.agent_id, r.starts_at, calendar.occupied_until(r.kind, r.ends_at), r.id)
        for r in rows
    ]


async def _settings_in(session: AsyncSession, tenant_id: int) -> TenantSettings:
    tenant = await session.get(t_.TenantRow, tenant_id)
    if tenant is None:
        raise NotFound("tenant", tenant_id)
    return TenantSettings.model_validate(tenant.settings or {})


async def _agents_in(session: AsyncSession, tenant_id: int, agent_id: int | None) -> list[m.Agent]:
    AG = t_.AgentRow
    query = select(AG).where(AG.tenant_id == tenant_id, AG.active.is_(True))
    if agent_id is not None:
        query = query.where(AG.id == agent_id)
    rows = (await session.execute(query.order_by(AG.id))).scalars().all()
    if agent_id is not None and not rows:
        raise BookingRefused("agent_unavailable", "agent_id", agent_id)
    if not rows:
        raise BookingRefused("no_agent", "agent_id", None)
    return [convert.agent(r) for r in rows]


def _calendar(settings: TenantSettings) -> Calendar:
    return Calendar(settings.booking, settings.timezone, settings.country)


def _type(calendar: Calendar, kind: str) -> AppointmentType:
    item = calendar.booking.type_of(kind)
    if item is None:
        kinds = ", ".join(x.key for x in calendar.booking.types)
        raise BookingRefused("unknown_kind", "kind", kind, kinds=kinds)
    return item


def _as_type(appointment: m.Appointment) -> AppointmentType:
    """A type for an appointment whose kind the agency no longer has: keep its length."""
    minutes = int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
    return AppointmentType(key="legacy", minutes=max(5, min(minutes, 480)))


def _aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise BookingRefused("not_aware", "starts_at", moment)


def _must_be_live(appointment: m.Appointment) -> None:
    if appointment.status not in LIVE:
        status = t(f"appointments.status.{appointment.status}")
        raise BookingRefused("final", "status", appointment.status, status=status)


def _location(settings: TenantSettings, item: AppointmentType, given: str | None) -> str | None:
    if given:
        clean = " ".join(given.split())[:300]
        return settings.booking.property_address(clean) or clean
    return settings.company.address if item.where == "agency" else None


__all__ = [
    "PHONE",
    "REMOTE_PLACES",
    "VIDEO",
    "AppointmentChange",
    "Booking",
    "ChangeKind",
    "OnChange",
]
