"""Queuing an appointment's reminders, and withdrawing them when it moves or is cancelled.

Each reminder is its template (``TEMPLATES``: the tenant's for the channel and the prospect's
language, else the library's), in the prospect's language; by email with the email template when
there is one; on WhatsApp outside the 24 h window as the tenant's approved WhatsApp template.
"""

from __future__ import annotations

import asyncio
import html
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core.config.settings import OrchestratorSettings
from core.domain.decision import ReplyDraft
from core.domain.enums import (
    AppointmentStatus,
    Channel,
    MessageStatus,
    MessageType,
    OutboxStatus,
    Urgency,
)
from core.events import AppointmentChanged, MessageChanged
from core.i18n.prospect import prospect_language, text_in
from core.orchestrator.loader import load_tenant_inputs
from core.pipeline import Kind, Origin, OutgoingRequest, Rendering, submit
from core.pipeline.templates import whatsapp_rendering
from core.reminders.appointment_texts import (
    appointment_values,
    approved_whatsapp,
    render,
    template_source,
)
from core.reminders.plan import SURVEY_VALIDITY, PlannedReminder, ReminderKind, plan
from core.storage import tables as t
from core.storage.service_context import ServiceContext
from core.storage.timeline import apply_status

log = logging.getLogger(__name__)
Out = t.OutboxRow
#: The seed: "Fallback: SMS si email non ouvert après 6h".
FOLLOW_UP_AFTER = timedelta(hours=6)
_OPEN = (OutboxStatus.PENDING, OutboxStatus.HELD)
_SUBJECTS = {
    False: "orchestrator.reminder.subject",
    True: "orchestrator.reminder.survey_subject",
}
#: The template of each reminder (``core.templates.library``; the tenant may edit its own).
TEMPLATES = {
    ReminderKind.H24: "rdv_reminder_24h",
    ReminderKind.H2: "rdv_reminder_2h",
    ReminderKind.M30: "rdv_reminder_30min",
    ReminderKind.SURVEY: "satisfaction_survey",
}


#: While an appointment is only proposed, the one reminder that asks the prospect to confirm it
#: (the day before: "Confirmez en répondant OUI ou annulez avec NON"). The others — "in 2 hours",
#: "waiting for you in 30 min", the survey — take it as happening: queued once it is confirmed.
BEFORE_CONFIRMED = frozenset({ReminderKind.H24})


def wanted_kinds(status: str) -> frozenset[ReminderKind]:
    """The reminders an appointment in ``status`` may have queued."""
    if status in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW):
        return frozenset()
    if status == AppointmentStatus.PROPOSED:
        return BEFORE_CONFIRMED
    return frozenset(ReminderKind)


def planned_for(starts_at: datetime) -> str:
    """How a row remembers which start time it was planned for (UTC ISO)."""
    return starts_at.astimezone(UTC).isoformat()


def reminder_key(appointment_id: int, kind: ReminderKind, starts_at: datetime) -> str:
    """One key per appointment, reminder and start time: syncing twice queues nothing new."""
    return f"rem:{appointment_id}:{kind}:{planned_for(starts_at)}"


class Reminders:
    """The reminders of the tenant's appointments."""

    def __init__(self, ctx: ServiceContext, settings: OrchestratorSettings | None = None) -> None:
        self.ctx = ctx
        self.settings = settings or OrchestratorSettings()
        # ``follow`` and the booking hooks may sync the same appointment at once: one at a time.
        self._lock = asyncio.Lock()

    async def sync(self, appointment_id: int) -> int:
        """Bring the appointment's queued reminders in line with it; returns how many were queued.

        A cancelled (or no-show) appointment loses every reminder not yet sent; a moved one loses
        those planned for the old time and gets new ones; a proposed one has only the reminder
        that asks for its confirmation (``BEFORE_CONFIRMED``), the others come when it is
        confirmed.
        """
        async with self._lock:
            return await self._sync(appointment_id)

    async def _sync(self, appointment_id: int) -> int:
        now = self.ctx.now()
        queued = 0
        async with self.ctx.write() as (session, events):
            appointment = await session.get(t.AppointmentRow, appointment_id)
            if appointment is None or appointment.tenant_id != self.ctx.tenant_id:
                return 0
            kinds = wanted_kinds(appointment.status)
            current = planned_for(appointment.starts_at)
            rows = (
                await session.execute(
                    select(Out).where(Out.appointment_id == appointment_id, Out.status.in_(_OPEN))
                )
            ).scalars()
            unwanted = {f"reminder_{kind}" for kind in set(ReminderKind) - kinds}
            for row in rows:
                moved = (row.payload or {}).get("appointment_starts_at") != current
                if not kinds or moved or row.purpose in unwanted:
                    await _cancel(session, row, now)
                    if row.message_id and row.conversation_id:
                        events.append(MessageChanged(row.message_id, row.conversation_id))
            if not kinds:
                return 0
            keys = {
                r.kind: reminder_key(appointment_id, r.kind, appointment.starts_at)
                for r in plan(appointment.starts_at, appointment.ends_at, now)
            }
            done_survey = survey_now_key(appointment_id)
            wanted = [*keys.values(), done_survey]
            existing = set(
                (
                    await session.execute(
                        select(Out.idempotency_key).where(Out.idempotency_key.in_(wanted))
                    )
                ).scalars()
            )
            if done_survey in existing:  # the survey already went out when it was marked done
                existing.add(keys.get(ReminderKind.SURVEY, done_survey))
            inputs = await load_tenant_inputs(session, self.ctx.tenant_id, self.settings, now)
            prospect = await session.get(t.ProspectRow, appointment.prospect_id)
            assert prospect is not None
            for reminder in plan(appointment.starts_at, appointment.ends_at, now):
                key = keys[reminder.kind]
                if key in existing or reminder.kind not in kinds:
                    continue
                queued += await self._queue(
                    session, events, inputs, appointment, prospect, reminder, key, current
                )
        return queued

    async def _queue(
        self,
        session,
        events: list,
        inputs,
        appointment: t.AppointmentRow,
        prospect: t.ProspectRow,
        reminder: PlannedReminder,
        key: str,
        current: str,
    ) -> int:
        """Submit one reminder to the pipeline; how many rows were queued.

        Written in the prospect's language: the SMS template's text, the email template by
        email, and on WhatsApp outside the 24 h window the tenant's approved template (without
        one, WhatsApp is left out of the chain, first choice or fallback).
        """
        settings = inputs.settings
        language = prospect_language(prospect.language, settings.language)
        values = await appointment_values(
            session, appointment, prospect, settings, language, asking=False
        )
        name = TEMPLATES[reminder.kind]
        draft = await self._draft(session, reminder, name, values, language)
        template = await approved_whatsapp(session, self.ctx.tenant_id, name, language, values)
        email = await self._email(session, name, values, language)
        if email is not None and email.subject is None:
            email = replace(email, subject=draft.subject)
        preferred = reminder.preferred or _channel(prospect.preferred_channel)
        first = preferred if reminder.kind == ReminderKind.H24 else None
        request = OutgoingRequest(
            tenant_id=self.ctx.tenant_id,
            prospect_id=prospect.id,
            kind=Kind.SURVEY if reminder.kind == ReminderKind.SURVEY else Kind.REMINDER,
            origin=Origin.AUTOMATION,
            draft=draft,
            renderings={Channel.EMAIL: email} if email is not None else {},
            whatsapp_template=whatsapp_rendering(template, values),
            priority=reminder.urgency,
            due_at=reminder.send_at,
            expires_at=reminder.expires_at,
            allowed=reminder.allowed,
            preferred=reminder.preferred,
            first_choice=first if first in reminder.allowed else None,
            key=key,
            intent=f"reminder_{reminder.kind}",
            about=f"appointment:{appointment.id}:{current}",
            purpose=f"reminder_{reminder.kind}",
            appointment_id=appointment.id,
            meta=reminder_meta(reminder.kind, appointment.id),
            extra={"appointment_starts_at": current},
        )
        (outcome,) = await submit(
            session,
            [request],
            now=self.ctx.now(),
            settings=self.settings,
            events=events,
            inputs=inputs,
        )
        if outcome.message is None:
            log.info(
                "appointment %s: no %s reminder: %s", appointment.id, reminder.kind, outcome.why
            )
            return 0
        queued = 1
        decision = outcome.decision
        if reminder.kind == ReminderKind.H24 and decision and decision.channel == Channel.EMAIL:
            queued += await self._unless_opened(
                session,
                events,
                inputs,
                prospect,
                reminder,
                draft,
                outcome.message,
                current,
                appointment.id,
            )
        return queued

    async def survey_now(self, appointment_id: int) -> bool:
        """The appointment took place: its satisfaction survey goes out now (not at its planned
        time), once. Returns whether a survey is now due; False when it was already sent, or the
        appointment is not done."""
        async with self._lock:
            return await self._survey_now(appointment_id)

    async def _survey_now(self, appointment_id: int) -> bool:
        now = self.ctx.now()
        async with self.ctx.write() as (session, events):
            appointment = await session.get(t.AppointmentRow, appointment_id)
            if appointment is None or appointment.tenant_id != self.ctx.tenant_id:
                return False
            if appointment.status != AppointmentStatus.DONE:
                return False
            rows = list(
                (
                    await session.execute(
                        select(Out).where(
                            Out.appointment_id == appointment_id,
                            Out.purpose == f"reminder_{ReminderKind.SURVEY}",
                        )
                    )
                ).scalars()
            )
            waiting = [r for r in rows if r.status in _OPEN]
            if waiting:
                for row in waiting:
                    await _due_now(session, row, now)
                    if row.message_id and row.conversation_id:
                        events.append(MessageChanged(row.message_id, row.conversation_id))
                return True
            if any(r.status not in (OutboxStatus.CANCELLED, OutboxStatus.EXPIRED) for r in rows):
                return False  # already on its way or sent
            inputs = await load_tenant_inputs(session, self.ctx.tenant_id, self.settings, now)
            prospect = await session.get(t.ProspectRow, appointment.prospect_id)
            assert prospect is not None
            reminder = PlannedReminder(
                ReminderKind.SURVEY,
                now,
                now + SURVEY_VALIDITY,
                frozenset({Channel.SMS, Channel.EMAIL}),
                Urgency.NORMAL,
                MessageType.SURVEY,
                preferred=Channel.SMS,
            )
            key = survey_now_key(appointment_id)
            current = planned_for(appointment.starts_at)
            queued = await self._queue(
                session, events, inputs, appointment, prospect, reminder, key, current
            )
            return queued > 0

    async def _unless_opened(
        self,
        session,
        events: list,
        inputs,
        prospect: t.ProspectRow,
        reminder: PlannedReminder,
        draft: ReplyDraft,
        email: t.MessageRow,
        current: str,
        appointment_id: int,
    ) -> int:
        """The seed's "SMS if the email is not opened after 6 h": an SMS queued for then, which
        the worker cancels if the email was read by that time."""
        send_at = reminder.send_at + FOLLOW_UP_AFTER
        if send_at >= reminder.expires_at:
            return 0
        request = OutgoingRequest(
            tenant_id=self.ctx.tenant_id,
            prospect_id=prospect.id,
            kind=Kind.REMINDER,
            origin=Origin.AUTOMATION,
            draft=draft,
            priority=reminder.urgency,
            due_at=send_at,
            expires_at=reminder.expires_at,
            allowed=frozenset({Channel.SMS}),
            key=f"rem:{appointment_id}:h24-unread:{current}",
            intent="reminder_h24_unread",
            about=f"appointment:{appointment_id}:{current}",
            purpose="reminder_h24_unread",
            appointment_id=appointment_id,
            meta={"reminder": "h24_unread", "appointment_id": appointment_id},
            extra={"appointment_starts_at": current, "unless_read_message_id": email.id},
        )
        (outcome,) = await submit(
            session,
            [request],
            now=self.ctx.now(),
            settings=self.settings,
            events=events,
            inputs=inputs,
        )
        return 1 if outcome.message is not None else 0

    async def _draft(
        self, session, reminder: PlannedReminder, name: str, values: dict[str, str], language: str
    ) -> ReplyDraft:
        """The reminder's short text (the SMS template) in ``language``."""
        source = await template_source(session, self.ctx.tenant_id, Channel.SMS, name, language)
        assert source is not None, f"the library has {name} in {language}"
        return ReplyDraft(
            text=render(source.text, values),
            subject=text_in(language, _SUBJECTS[reminder.kind == ReminderKind.SURVEY]),
            urgency=reminder.urgency,
            message_type=reminder.message_type,
        )

    async def _email(
        self, session, name: str, values: dict[str, str], language: str
    ) -> Rendering | None:
        """The email template's subject, text and HTML when there is one, else None."""
        source = await template_source(session, self.ctx.tenant_id, Channel.EMAIL, name, language)
        if source is None:
            return None
        escaped = {k: html.escape(v) for k, v in values.items()}
        return Rendering(
            text=render(source.text, values),
            subject=render(source.subject, values) if source.subject else None,
            html=render(source.html, escaped) if source.html else None,
        )

    async def follow(self, stop_event: asyncio.Event) -> None:
        """Sync reminders whenever an appointment changes, until ``stop_event`` is set."""
        async with self.ctx.bus.subscribe() as queue:
            while not stop_event.is_set():
                try:
                    event = await asyncio.wait_for(queue.get(), 0.5)
                except TimeoutError:
                    continue
                if isinstance(event, AppointmentChanged):
                    try:
                        await self.sync(event.appointment_id)
                    except Exception:
                        log.exception("reminders of appointment %s", event.appointment_id)


def _channel(value: str | None) -> Channel | None:
    return Channel(value) if value else None


async def _due_now(session, row: t.OutboxRow, now: datetime) -> None:
    """A scheduled row goes out at once (and its message says queued, not scheduled)."""
    row.not_before = now
    row.status = OutboxStatus.PENDING
    row.updated_at = now
    if row.message_id:
        message = await session.get(t.MessageRow, row.message_id)
        if message is not None and message.status in (
            MessageStatus.SCHEDULED,
            MessageStatus.HELD,
        ):
            message.status = MessageStatus.QUEUED
            message.meta = {**(message.meta or {}), "scheduled_for": None}


async def _cancel(session, row: t.OutboxRow, now: datetime) -> None:
    row.status = OutboxStatus.CANCELLED
    row.lease_owner = row.lease_expires_at = None
    row.attempts_log = [*(row.attempts_log or []), {"at": now.isoformat(), "outcome": "cancelled"}]
    if row.message_id:
        message = await session.get(t.MessageRow, row.message_id)
        if message is not None:
            apply_status(message, MessageStatus.CANCELLED, at=now)


def reminder_meta(kind: ReminderKind, appointment_id: int) -> dict[str, object]:
    """What a reminder's message records; a survey is marked so Sara reads the 1–5 answer."""
    meta: dict[str, object] = {"reminder": str(kind), "appointment_id": appointment_id}
    if kind == ReminderKind.SURVEY:
        meta["survey"] = True
    return meta


def survey_now_key(appointment_id: int) -> str:
    """The outbox key of the survey sent when an appointment is marked done."""
    return f"rem:{appointment_id}:{ReminderKind.SURVEY}:done"
