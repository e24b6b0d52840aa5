"""Telling the prospect what an agent did to their appointment, and offering to book again.

Registered as a ``service.booking`` hook: when an agent books, moves or cancels an appointment
from the app, the prospect receives a short message on the channel the orchestrator picks for
them (``outbound.send_unified``), queued in the outbox like any send. Changes the prospect made
themself (a button, an answer) are answered where they were made, not here.

After a no-show, ``offer_rebooking`` sends (when the agent asks) a message with the next free
slots.
"""

from __future__ import annotations

import logging

from core.appointments.changes import AppointmentChange, ChangeKind
from core.appointments.display import both_times, kind_label, slot_label
from core.domain import models as m
from core.domain.decision import ReplyDraft
from core.domain.enums import AppointmentStatus, MessageType, SenderType
from core.errors import CoccinelleError, InvalidInput
from core.events import Alert
from core.i18n import t
from core.service.appointments import Appointments
from core.service.booking import Booking
from core.service.context import ServiceContext
from core.service.outbound import Outbound, RouteResult
from core.service.prospects import Prospects
from core.service.settings import TenantSettingsStore
from core.storage.tables import AgentRow

log = logging.getLogger(__name__)

#: The changes an agent makes that the prospect must hear about.
TOLD = (ChangeKind.BOOKED, ChangeKind.MOVED, ChangeKind.CANCELLED)
#: How many free slots a re-booking offer lists.
OFFERED_SLOTS = 2
#: How a notice writes a time: "samedi 21 novembre 15:00" (the year goes without saying).
WHEN = "EEEE d MMMM HH:mm"


class NotTold(CoccinelleError):
    """No channel can reach the prospect now; the message says why."""


class BookingNotices:
    """The confirmation, change and cancellation notices, and the re-booking offer."""

    def __init__(self, ctx: ServiceContext, booking: Booking, outbound: Outbound) -> None:
        self.ctx = ctx
        self.booking = booking
        self.outbound = outbound
        self.settings = TenantSettingsStore(ctx)
        self.prospects = Prospects(ctx)
        self.appointments = Appointments(ctx)

    async def on_change(self, change: AppointmentChange) -> None:
        """The ``on_change`` hook: queue the notice of an agent's booking, move or cancel.

        When no channel reaches the prospect, the change stays and the agent gets an alert
        saying why (the prospect was not told).
        """
        if change.by != SenderType.AGENT or change.kind not in TOLD:
            return
        draft = await self.notice(change)
        try:
            await self._send(change.appointment.prospect_id, draft)
        except NotTold as exc:
            log.info("appointment %s: prospect not told: %s", change.appointment.id, exc)
            key = f"appointment-notice:{change.appointment.id}"
            self.ctx.bus.publish(Alert(key, str(exc)))

    async def notice(self, change: AppointmentChange) -> ReplyDraft:
        """The message telling the prospect about ``change`` (text and email subject)."""
        appointment = change.appointment
        settings = await self.settings.get()
        prospect = await self.prospects.get(appointment.prospect_id)
        agent = await self._agent_name(appointment.agent_id)
        params = {
            "name": _first_name(prospect),
            "kind": kind_label(appointment.kind, settings.booking),
            "when": str(
                both_times(appointment.starts_at, settings.timezone, prospect.timezone, WHEN)
            ),
            "agent": agent,
            "place": t("booking.notice.place", location=appointment.location)
            if appointment.location
            else "",
            "company": settings.company.name,
            "phone": settings.company.phone or "",
        }
        key = change.kind.value
        return ReplyDraft(
            text=t(f"booking.notice.{key}", **params),
            subject=t(f"booking.notice.{key}_subject", **params),
            message_type=MessageType.APPOINTMENT,
        )

    async def rebooking_offer(self, appointment_id: int) -> ReplyDraft:
        """The message offering a new appointment after a no-show, with the next free slots."""
        appointment = await self.appointments.get(appointment_id)
        if appointment.status != AppointmentStatus.NO_SHOW:
            raise InvalidInput("appointment", appointment_id, t("booking.rebook.not_no_show"))
        settings = await self.settings.get()
        prospect = await self.prospects.get(appointment.prospect_id)
        zone = prospect.timezone or settings.timezone
        kind = appointment.kind if settings.booking.type_of(appointment.kind) else "visit"
        slots = await self.booking.propose_slots(kind, count=OFFERED_SLOTS)
        lines = ", ".join(slot_label(s.start, zone) for s in slots)
        params = {
            "name": _first_name(prospect),
            "kind": kind_label(appointment.kind, settings.booking),
            "company": settings.company.name,
            "phone": settings.company.phone or "",
        }
        text = t("booking.rebook.text", slots=lines, **params) if slots else ""
        return ReplyDraft(
            text=text or t("booking.rebook.text_no_slot", **params),
            subject=t("booking.rebook.subject", **params),
            message_type=MessageType.APPOINTMENT,
        )

    async def offer_rebooking(self, appointment_id: int) -> RouteResult:
        """Send the re-booking offer of a no-show appointment to its prospect.

        Raises:
            InvalidInput: the appointment is not a no-show.
            NotTold: no channel reaches the prospect.
        """
        draft = await self.rebooking_offer(appointment_id)
        appointment = await self.appointments.get(appointment_id)
        return await self._send(appointment.prospect_id, draft)

    async def _agent_name(self, agent_id: int | None) -> str:
        async with self.ctx.db.session() as session:
            row = await session.get(AgentRow, agent_id) if agent_id else None
        return row.name if row else t("common.unknown")

    async def _send(self, prospect_id: int, draft: ReplyDraft) -> RouteResult:
        result = await self.outbound.send_unified(prospect_id, draft)
        if not result.success:
            reason = result.error or result.status
            raise NotTold(t("booking.notice.unreachable", why=reason))
        return result


def _first_name(prospect: m.Prospect) -> str:
    return (prospect.display_name or "").split(" ")[0]
