"""The appointment keys the conversation and the calendar share: book, move, cancel, done, no-show.

A screen mixes ``AppointmentActions`` in and says which appointment the agent means
(``appointment_target``): the one highlighted if any, else the prospect's only candidate, else
the agent picks one from a short list.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from textual.binding import Binding

from core.domain import models as m
from core.domain.appointment_display import both_times, kind_label
from core.domain.enums import AppointmentStatus, MessageStatus
from core.i18n import format_datetime, t
from inbox_app.errors import notify_error
from inbox_app.render.words import channel_name
from inbox_app.screens.booking import BookingScreen
from inbox_app.screens.choice import ChoiceScreen

LIVE = (AppointmentStatus.PROPOSED, AppointmentStatus.CONFIRMED)


def key(keys: str, action: str, name: str, show: bool = False) -> Binding:
    """A binding named and explained from the ``booking`` catalog."""
    return Binding(
        keys,
        action,
        t(f"booking.key.{name}"),
        show=show,
        id=f"booking_{name}",
        tooltip=t(f"booking.tip.{name}"),
    )


#: The keys acting on an appointment, the same on every screen that has them.
APPOINTMENT_BINDINGS = [
    key("M", "move_appointment", "move"),
    key("X", "cancel_appointment", "cancel"),
    key("D", "appointment_done", "done"),
    key("N", "appointment_no_show", "no_show"),
]


@dataclass(frozen=True)
class Target:
    """Whose appointments an action is about, and which one is highlighted (if any)."""

    prospect: m.Prospect
    conversation_id: int | None
    appointments: list[m.Appointment]
    highlighted: int | None = None


class AppointmentActions:
    """Mixed into a Screen: the actions behind ``APPOINTMENT_BINDINGS``."""

    async def appointment_target(self) -> Target | None:
        """The prospect, thread and appointments the keys act on (None: nothing to act on).

        Each screen that mixes this in answers it (the conversation: its prospect; the calendar:
        the highlighted row's); the mixin alone has nothing to act on.
        """
        return None

    async def appointment_changed(self) -> None:
        """Redraw after a change."""

    # -- the actions -----------------------------------------------------------------------

    async def action_move_appointment(self) -> None:
        await self._on_one(_live, "none_live", self._move)

    async def action_cancel_appointment(self) -> None:
        await self._on_one(_live, "none_live", self._cancel)

    async def action_appointment_done(self) -> None:
        await self._on_one(self._started, "none_started", self._done)

    async def action_appointment_no_show(self) -> None:
        await self._on_one(self._started, "none_started", self._no_show)

    def open_booking(self, prospect: m.Prospect, conversation_id: int | None) -> None:
        """The booking panel for a new appointment."""

        async def booked(appointment: m.Appointment | None) -> None:
            if appointment is not None:
                when = await self._when(appointment, prospect)
                done = (
                    "booking.action.confirmed"
                    if appointment.status == AppointmentStatus.CONFIRMED
                    else "booking.action.proposed"
                )
                lines = [t(done, when=when), *await self._reminder_lines(appointment, prospect)]
                self.notify("\n".join(lines), timeout=8, markup=False)
                await self.appointment_changed()

        self.app.push_screen(BookingScreen(prospect, conversation_id), booked)

    # -- steps -----------------------------------------------------------------------------

    async def _move(self, target: Target, appointment: m.Appointment) -> None:
        async def moved(result: m.Appointment | None) -> None:
            if result is not None:
                when = await self._when(result, target.prospect)
                self.notify(t("booking.action.moved", when=when), timeout=5, markup=False)
                await self.appointment_changed()

        screen = BookingScreen(target.prospect, target.conversation_id, moving=appointment)
        self.app.push_screen(screen, moved)

    async def _cancel(self, target: Target, appointment: m.Appointment) -> None:
        question = t(
            "booking.action.cancel_ask",
            kind=await self._kind(appointment),
            when=await self._when(appointment, target.prospect),
        )
        choices = [("yes", t("booking.action.cancel_yes")), ("no", t("booking.action.cancel_no"))]

        async def answered(choice: str | None) -> None:
            if choice == "yes":
                await self._run(
                    t("booking.action.cancelled"),
                    self.app.service.booking.cancel(
                        appointment.id, conversation_id=target.conversation_id
                    ),
                )

        self.app.push_screen(ChoiceScreen(question, choices), answered)

    async def _done(self, target: Target, appointment: m.Appointment) -> None:
        await self._run(
            t("booking.action.done"), self.app.service.booking.mark_done(appointment.id)
        )

    async def _no_show(self, target: Target, appointment: m.Appointment) -> None:
        if not await self._run(
            t("booking.action.no_show"), self.app.service.booking.mark_no_show(appointment.id)
        ):
            return
        question = t("booking.action.rebook_ask", name=target.prospect.display_name)
        choices = [("yes", t("booking.action.rebook_yes")), ("no", t("booking.action.rebook_no"))]

        async def answered(choice: str | None) -> None:
            if choice != "yes":
                return
            try:
                sent_on = await self.app.service.booking_notices.offer_rebooking(appointment.id)
            except Exception as exc:
                notify_error(self.app, exc)
                return
            channel = channel_name(sent_on)
            self.notify(t("booking.action.rebook_sent", channel=channel), timeout=5)
            await self.appointment_changed()

        self.app.push_screen(ChoiceScreen(question, choices), answered)

    # -- helpers ---------------------------------------------------------------------------

    async def _on_one(
        self,
        wanted: Callable[[m.Appointment], bool],
        none_key: str,
        then: Callable[[Target, m.Appointment], Awaitable[None]],
    ) -> None:
        """Run ``then`` on the appointment meant: highlighted, the only one, or picked."""
        try:
            target = await self.appointment_target()
        except Exception as exc:
            notify_error(self.app, exc)
            return
        if target is None:
            return
        candidates = [a for a in target.appointments if wanted(a)]
        chosen = next((a for a in candidates if a.id == target.highlighted), None)
        if chosen is None and len(candidates) == 1:
            chosen = candidates[0]
        if chosen is not None:
            await then(target, chosen)
            return
        if not candidates:
            self.notify(t(f"booking.action.{none_key}"), severity="warning", timeout=4)
            return
        lines = [(str(a.id), await self._line(a, target.prospect)) for a in candidates]

        async def picked(choice: str | None) -> None:
            appointment = next((a for a in candidates if str(a.id) == choice), None)
            if appointment is not None:
                await then(target, appointment)

        self.app.push_screen(ChoiceScreen(t("booking.action.pick"), lines), picked)

    def _started(self, appointment: m.Appointment) -> bool:
        return appointment.status in LIVE and appointment.starts_at <= self.app.now()

    async def _run(self, done: str, call: Awaitable[object]) -> bool:
        try:
            await call
        except Exception as exc:
            notify_error(self.app, exc)
            return False
        self.notify(done, timeout=4, markup=False)
        await self.appointment_changed()
        return True

    async def _when(self, appointment: m.Appointment, prospect: m.Prospect) -> str:
        settings = await self.app.service.tenant_settings.get()
        return str(both_times(appointment.starts_at, settings.timezone, prospect.timezone))

    async def _reminder_lines(self, appointment: m.Appointment, prospect: m.Prospect) -> list[str]:
        """The appointment's reminders, each with when it will be sent (not when it was booked)."""
        try:
            entries = await self.app.service.agenda.between(
                appointment.starts_at, appointment.starts_at + timedelta(seconds=1)
            )
        except Exception:  # the booking is done; the list is only a courtesy
            return []
        entry = next((e for e in entries if e.appointment.id == appointment.id), None)
        if entry is None or not entry.reminders:
            return []
        zone = prospect.timezone or (await self.app.service.tenant_settings.get()).timezone
        return [t("booking.action.reminders")] + [
            t(
                "booking.action.reminder_line",
                kind=t(f"booking.reminder.{r.kind}"),
                when=format_datetime(r.send_at, zone, "EEE d MMM HH:mm") if r.send_at else "",
                channel=channel_name(r.channel),
            )
            for r in entry.reminders
            if r.status not in (MessageStatus.CANCELLED,)
        ]

    async def _kind(self, appointment: m.Appointment) -> str:
        settings = await self.app.service.tenant_settings.get()
        return kind_label(appointment.kind, settings.booking)

    async def _line(self, appointment: m.Appointment, prospect: m.Prospect) -> str:
        return t(
            "booking.action.line",
            when=await self._when(appointment, prospect),
            kind=await self._kind(appointment),
            status=t(f"common.appointment_status.{appointment.status}"),
        )


def _live(appointment: m.Appointment) -> bool:
    return appointment.status in LIVE
