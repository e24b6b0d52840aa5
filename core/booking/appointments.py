"""Appointments (RDV) as stored: create and set a status as given (imports, demo data), list.

Booking, moving, confirming and cancelling go through ``core.booking.service.Booking``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select

from core.domain import models as m
from core.domain.enums import AppointmentStatus
from core.errors import NotFound
from core.events import AppointmentChanged
from core.storage import convert
from core.storage import tables as t
from core.storage.service_context import ServiceContext

A = t.AppointmentRow
#: Statuses of an appointment that was confirmed (a done one was, even if nobody said so).
CONFIRMED = (AppointmentStatus.CONFIRMED, AppointmentStatus.DONE)


class AppointmentDraft(BaseModel):
    """What is needed to book an appointment."""

    model_config = ConfigDict(extra="forbid")

    prospect_id: int
    starts_at: datetime
    ends_at: datetime
    agent_id: int | None = None
    kind: str = Field("visit", min_length=1, max_length=30)
    location: str | None = Field(None, max_length=300)
    notes: str | None = None
    status: AppointmentStatus = AppointmentStatus.PROPOSED
    #: For imports: when it was confirmed (default: now, if ``status`` says it is).
    confirmed_at: datetime | None = None

    @model_validator(mode="after")
    def _times(self) -> AppointmentDraft:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("appointment times need a time zone")
        if self.confirmed_at is not None and self.confirmed_at.tzinfo is None:
            raise ValueError("appointment times need a time zone")
        if self.ends_at <= self.starts_at:
            raise ValueError("an appointment must end after it starts")
        return self


class Appointments:
    """Booking and following appointments."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def create(self, draft: AppointmentDraft) -> m.Appointment:
        """Store an appointment as given, without checking hours, holidays or other bookings.

        For imports and demo data; to book for a prospect, use ``service.booking.book``.
        """
        async with self.ctx.write() as (session, events):
            prospect = await session.get(t.ProspectRow, draft.prospect_id)
            if prospect is None or prospect.tenant_id != self.ctx.tenant_id:
                raise NotFound("prospect", draft.prospect_id)
            now = self.ctx.now()
            row = A(
                tenant_id=self.ctx.tenant_id, created_at=now, updated_at=now, **draft.model_dump()
            )
            if row.confirmed_at is None and row.status in CONFIRMED:
                row.confirmed_at = self.ctx.now()
            session.add(row)
            await session.flush()
            events.append(AppointmentChanged(row.id))
            return convert.appointment(row)

    async def set_status(self, appointment_id: int, status: AppointmentStatus) -> m.Appointment:
        """Record a status as given (a first confirmation records its time), for imports and demo
        data: no hooks run. To confirm, cancel, mark done or no-show for real, and to move (one
        path, which re-plans the reminders and tells the prospect), use ``service.booking``."""
        return await self._change(appointment_id, status=AppointmentStatus(status))

    async def get(self, appointment_id: int) -> m.Appointment:
        """One appointment."""
        async with self.ctx.db.session() as session:
            return convert.appointment(await self._row(session, appointment_id))

    async def for_prospect(self, prospect_id: int) -> list[m.Appointment]:
        """A prospect's appointments, soonest first."""
        query = select(A).where(A.prospect_id == prospect_id, A.tenant_id == self.ctx.tenant_id)
        async with self.ctx.db.session() as session:
            rows = (await session.execute(query.order_by(A.starts_at))).scalars().all()
        return [convert.appointment(r) for r in rows]

    async def between(self, start: datetime, end: datetime) -> list[m.Appointment]:
        """Appointments starting in [start, end), for the calendar."""
        query = select(A).where(
            A.tenant_id == self.ctx.tenant_id, A.starts_at >= start, A.starts_at < end
        )
        async with self.ctx.db.session() as session:
            rows = (await session.execute(query.order_by(A.starts_at))).scalars().all()
        return [convert.appointment(r) for r in rows]

    async def _change(self, appointment_id: int, **values: object) -> m.Appointment:
        async with self.ctx.write() as (session, events):
            row = await self._row(session, appointment_id)
            for name, value in values.items():
                setattr(row, name, value)
            t.touch(row, self.ctx.now())
            if row.confirmed_at is None and row.status in CONFIRMED:
                row.confirmed_at = self.ctx.now()
            events.append(AppointmentChanged(appointment_id))
            return convert.appointment(row)

    async def _row(self, session, appointment_id: int) -> A:
        row = await session.get(A, appointment_id)
        if row is None or row.tenant_id != self.ctx.tenant_id:
            raise NotFound("appointment", appointment_id)
        return row
