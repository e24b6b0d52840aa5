"""The calendar's data: appointments of a day or a week, with who, where and their reminders.

    entries = await service.agenda.between(start, end, agent_id=None)

One query per call, whatever the number of appointments: the appointments, their prospect and
agent, the prospect's latest conversation (to open from the calendar) and every reminder's
delivery state come back together and are grouped here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, select

from core.domain import models as m
from core.domain.enums import MessageStatus, OutboxStatus
from core.errors import InvalidInput
from core.service.context import ServiceContext
from core.storage import convert
from core.storage import tables as t

A = t.AppointmentRow
#: The outbox ``purpose`` of a reminder starts with this (``reminder_h24``, ``reminder_survey``…).
REMINDER_PREFIX = "reminder_"
#: What an outbox row's state means for a reminder whose message row is missing.
_FROM_OUTBOX = {
    OutboxStatus.PENDING: MessageStatus.SCHEDULED,
    OutboxStatus.HELD: MessageStatus.HELD,
    OutboxStatus.SENDING: MessageStatus.SENDING,
    OutboxStatus.SENT: MessageStatus.SENT,
    OutboxStatus.FAILED: MessageStatus.FAILED,
    OutboxStatus.UNKNOWN: MessageStatus.UNKNOWN,
    OutboxStatus.EXPIRED: MessageStatus.EXPIRED,
    OutboxStatus.CANCELLED: MessageStatus.CANCELLED,
}


@dataclass(frozen=True, slots=True)
class ReminderState:
    """One reminder of an appointment: which (``h24``, ``h2``, ``m30``, ``survey``,
    ``h24_unread``), on which channel, when it is (or was) due, and its delivery state."""

    kind: str
    channel: str
    send_at: datetime | None
    status: MessageStatus


@dataclass(frozen=True, slots=True)
class AgendaEntry:
    """An appointment as the calendar shows it."""

    appointment: m.Appointment
    prospect_name: str
    prospect_timezone: str | None
    agent_name: str | None
    conversation_id: int | None
    reminders: list[ReminderState] = field(default_factory=list)


class Agenda:
    """Reading the tenant's appointments for the calendar."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def between(
        self, start: datetime, end: datetime, *, agent_id: int | None = None
    ) -> list[AgendaEntry]:
        """Appointments starting in [start, end) (of ``agent_id`` only, if given), soonest
        first, every state included; each with its reminders in the order they were queued.

        Raises:
            InvalidInput: a naive time, or ``end`` not after ``start``.
        """
        for name, moment in (("start", start), ("end", end)):
            if moment.tzinfo is None:
                raise InvalidInput(name, moment, "a date and time with a time zone")
        if end <= start:
            raise InvalidInput("end", end, "after the start")
        async with self.ctx.db.session() as session:
            rows = (await session.execute(self._query(start, end, agent_id))).all()
        return _group(rows)

    def _query(self, start: datetime, end: datetime, agent_id: int | None):
        P, AG, C = t.ProspectRow, t.AgentRow, t.ConversationRow
        OB, M = t.OutboxRow, t.MessageRow
        latest = (
            select(func.max(C.id))
            .where(C.prospect_id == A.prospect_id)
            .correlate(A)
            .scalar_subquery()
            .label("conversation_id")
        )
        query = (
            select(
                A,
                P.display_name,
                P.timezone,
                AG.name.label("agent_name"),
                latest,
                OB.id.label("outbox_id"),
                OB.purpose,
                OB.channel_type,
                OB.status.label("outbox_status"),
                OB.not_before,
                M.status.label("message_status"),
            )
            .join(P, P.id == A.prospect_id)
            .outerjoin(AG, AG.id == A.agent_id)
            .outerjoin(OB, and_(OB.appointment_id == A.id, OB.purpose.like(f"{REMINDER_PREFIX}%")))
            .outerjoin(M, M.id == OB.message_id)
            .where(A.tenant_id == self.ctx.tenant_id, A.starts_at >= start, A.starts_at < end)
            .order_by(A.starts_at, A.id, OB.id)
        )
        if agent_id is not None:
            query = query.where(A.agent_id == agent_id)
        return query


def _group(rows) -> list[AgendaEntry]:
    entries: dict[int, AgendaEntry] = {}
    for row in rows:
        appointment = row[0]
        entry = entries.get(appointment.id)
        if entry is None:
            entry = AgendaEntry(
                convert.appointment(appointment),
                row.display_name or "",
                row.timezone,
                row.agent_name,
                row.conversation_id,
            )
            entries[appointment.id] = entry
        if row.outbox_id is not None:
            entry.reminders.append(
                ReminderState(
                    kind=row.purpose.removeprefix(REMINDER_PREFIX),
                    channel=row.channel_type,
                    send_at=row.not_before,
                    status=_status(row.message_status, row.outbox_status),
                )
            )
    return list(entries.values())


def _status(message_status: str | None, outbox_status: str) -> MessageStatus:
    """The reminder's state: its message's (delivered, read…), else its outbox row's."""
    if message_status:
        return MessageStatus(message_status)
    return _FROM_OUTBOX.get(OutboxStatus(outbox_status), MessageStatus.UNKNOWN)
