"""Appointments in every state on the scenario's day, for the calendar's tests and snapshots.

Added through the product's own paths: a booking through ``service.booking`` (with its
reminders queued by ``Reminders.sync``, as the engine does), past ones stored as given and then
marked done, no-show or cancelled.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core.booking.appointments import AppointmentDraft
from core.domain.enums import AppointmentStatus, MessageStatus
from core.service import InboxService
from core.storage import tables as t
from tests.tui.scenario import NOW

PARIS = ZoneInfo("Europe/Paris")


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in March 2026, Paris time."""
    return datetime(2026, 3, day, hour, minute, tzinfo=PARIS)


async def fill_calendar(service: InboxService, ids: dict[str, int]) -> dict[str, int]:
    """Today (Tuesday 10 March): one confirmed with reminders (one delivered), one cancelled, one
    done and one no-show, all with the scenario's agent. Returns their ids by state."""
    agent = ids["agent"]
    booked = await service.booking.book(
        ids["sophie"], paris(10, 15), agent_id=agent, conversation_id=ids["sophie_telegram"]
    )
    await service.booking.confirm(booked.id)  # a proposed one has only the day-before reminder
    await service.outbound.reminders.sync(booked.id)
    async with service.db.session() as session:
        first = (
            await session.execute(
                select(t.MessageRow)
                .join(t.OutboxRow, t.OutboxRow.message_id == t.MessageRow.id)
                .where(
                    t.OutboxRow.appointment_id == booked.id,
                    t.OutboxRow.purpose.startswith("reminder_"),
                )
                .order_by(t.OutboxRow.id)
                .limit(1)
            )
        ).scalar_one()
        first.status = MessageStatus.DELIVERED
        await session.commit()
    made = {"booked": booked.id}
    for name, prospect, start, status in (
        ("cancelled", ids["jean"], paris(10, 17), AppointmentStatus.CANCELLED),
        ("done", ids["luc"], paris(10, 9), AppointmentStatus.DONE),
        ("no_show", ids["marie"], paris(10, 10), AppointmentStatus.NO_SHOW),
    ):
        appointment = await service.appointments.create(
            AppointmentDraft(
                prospect_id=prospect,
                agent_id=agent,
                starts_at=start,
                ends_at=start + timedelta(minutes=45),
                status=AppointmentStatus.CONFIRMED,
            )
        )
        await service.appointments.set_status(appointment.id, status)
        made[name] = appointment.id
    assert NOW.astimezone(PARIS).date() == paris(10, 0).date()
    return made
