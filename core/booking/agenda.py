"""The calendar's data: appointments of a day or a week, with who, where and their reminders.

    entries = await service.agenda.between(start, end, agent_id=None)

One query per call, whatever the number of appointments: the appointments, their prospect and
agent, the prospect's latest conversation (to open from the calendar) and every reminder with
its delivery state (its message's: scheduled, sent, delivered, failed, cancelled…) and when it
is due (its outbox row's) come back together and are grouped here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, or_, select

from core.domain import models as m
from core.domain.enums import Direction, MessageStatus
from core.errors import InvalidInput
from core.storage import convert
from core.storage import tables as t
from core.storage.service_context import ServiceContext

A = t.AppointmentRow
#: A reminder's kind when its message does not say (reminders written by an import or the demo).
PLAIN_REMINDER = "reminder"


@dataclass(frozen=True, slots=True)
class ReminderState:
    """One reminder of an appointment: which (``h24``, ``h2``, ``m30``, ``survey``,
    ``h24_unread``, or ``reminder`` when its message does not say), on which channel, when it
    is (or was) due, and its delivery state."""

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
        # A reminder is a message of the prospect naming the appointment in its metadata
        # (``reminder`` from the reminder worker, ``purpose`` from imports and the demo); its
        # outbox row, when it has one, says when it is due.
        reminder = and_(
            M.prospect_id == A.prospect_id,
            M.direction == Direction.OUTBOUND,
            M.meta["appointment_id"].as_integer() == A.id,
            or_(
                M.meta["reminder"].as_string().is_not(None),
                M.meta["purpose"].as_string() == PLAIN_REMINDER,
            ),
        )
        query = (
            select(
                A,
                P.display_name,
                P.timezone,
                AG.name.label("agent_name"),
                latest,
                M.id.label("message_id"),
                M.meta["reminder"].as_string().label("reminder_kind"),
                M.channel_type,
                M.status.label("message_status"),
                M.created_at.label("message_created_at"),
                OB.not_before,
            )
            .join(P, P.id == A.prospect_id)
            .outerjoin(AG, AG.id == A.agent_id)
            .outerjoin(M, reminder)
            .outerjoin(OB, and_(OB.appointment_id == A.id, OB.message_id == M.id))
            .where(A.tenant_id == self.ctx.tenant_id, A.starts_at >= start, A.starts_at < end)
            .order_by(A.starts_at, A.id, M.id, OB.id)
        )
        if agent_id is not None:
            query = query.where(A.agent_id == agent_id)
        return query


def _group(rows) -> list[AgendaEntry]:
    entries: dict[int, AgendaEntry] = {}
    reminders: dict[tuple[int, int], ReminderState] = {}
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
        if row.message_id is not None:
            # A resent reminder has several outbox rows: the last one says when it is due.
            reminders[(appointment.id, row.message_id)] = ReminderState(
                kind=row.reminder_kind or PLAIN_REMINDER,
                channel=row.channel_type,
                send_at=row.not_before or row.message_created_at,
                status=MessageStatus(row.message_status),
            )
    for (appointment_id, _), state in reminders.items():
        entries[appointment_id].reminders.append(state)
    return list(entries.values())
