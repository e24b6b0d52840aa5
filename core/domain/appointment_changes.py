"""What happens to appointments, as the hooks receive it and as the thread records it.

``AppointmentChange`` and ``OnChange`` are the contract with whoever reacts to a change once it
is committed (reminders, confirmation and cancellation messages, the satisfaction survey):
``Booking(ctx, on_change=[...])`` or ``service.booking.on_change.append(hook)``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from core.domain import models as m
from core.domain.availability import BookingSettings
from core.domain.enums import AppointmentStatus, SenderType
from core.i18n.deferred import Line, line, moment
from core.i18n.deferred import kind as kind_word


class ChangeKind(StrEnum):
    """What happened to an appointment."""

    BOOKED = "booked"
    MOVED = "moved"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    DONE = "done"
    NO_SHOW = "no_show"


@dataclass(frozen=True, slots=True)
class AppointmentChange:
    """A committed change, handed to every ``on_change`` hook.

    ``previous`` is the appointment before the change (None for a booking); ``by`` says who made
    it (the agent from the app, Sara, or the prospect from a channel); ``conversation_id`` is the
    thread the change was recorded in (where a confirmation or notice naturally goes).
    """

    kind: ChangeKind
    appointment: m.Appointment
    previous: m.Appointment | None
    by: SenderType
    conversation_id: int
    reason: str | None = None


#: A hook run after each committed change; its failure never undoes the change.
OnChange = Callable[[AppointmentChange], Awaitable[None]]


def event_line(
    kind: ChangeKind,
    appointment: m.Appointment,
    previous: m.Appointment | None,
    reason: str | None,
    *,
    timezone: str,
    booking: BookingSettings | None = None,
) -> Line:
    """The thread's event for a change, stored untranslated (``core.i18n.deferred``): each
    agent reads "Rendez-vous déplacé : visite …" or "Appointment moved: visit …"."""
    item = booking.type_of(appointment.kind) if booking else None
    params: dict[str, object] = {
        "kind": kind_word(appointment.kind, item.label if item is not None else None),
        "when": moment(appointment.starts_at, timezone),
        "previous": moment(previous.starts_at, timezone) if previous else "",
        "reason": reason or "",
    }
    key = kind.value
    if kind == ChangeKind.CANCELLED and reason:
        key = "cancelled_because"
    elif kind == ChangeKind.BOOKED and appointment.status == AppointmentStatus.PROPOSED:
        key = "proposed"  # not booked yet: the prospect is asked to confirm
    return line(f"appointments.event.{key}", **params)


def event_meta(
    kind: ChangeKind,
    appointment: m.Appointment,
    previous: m.Appointment | None,
    by: SenderType,
    reason: str | None,
) -> dict[str, object]:
    """The structured part of the thread item (``meta["event"]`` = ``appointment.<kind>``)."""
    meta: dict[str, object] = {
        "event": f"appointment.{kind.value}",
        "appointment_id": appointment.id,
        "starts_at": appointment.starts_at.isoformat(),
        "agent_id": appointment.agent_id,
        "by": by.value,
    }
    if previous is not None and previous.starts_at != appointment.starts_at:
        meta["previous_starts_at"] = previous.starts_at.isoformat()
    if reason:
        meta["reason"] = reason
    return meta
