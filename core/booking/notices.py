"""What follows a committed appointment change: reminders re-planned, and the prospect told.

The ``on_change`` hook of ``service.booking`` (and of the ingest worker's booking, so that a
prospect booking from Telegram or by answering a proposal takes the same path as an agent):

- booked: the reminders, and the confirmation on the channel the orchestrator picks (the
  prospect's own channel first when they booked there). By email: the tenant's HTML
  ``rdv_confirmation`` template with the calendar link and the ``.ics`` attached; elsewhere the
  short text; on WhatsApp outside the 24 h window, the tenant's approved WhatsApp
  ``rdv_confirmation`` template (without one, WhatsApp is not a candidate there). Everything is
  in the prospect's language (``core.i18n.prospect``), templates the tenant's for that language
  else the library's; times are the agency's, with the prospect's own when they live elsewhere.
- moved or cancelled by an agent: reminders re-planned or withdrawn, and a notice.
- done: the satisfaction survey now; no-show: reminders withdrawn. The re-booking proposal
  after a no-show is the agent's call (``offer_rebooking``): a missed visit may need a phone call
  rather than a message.

When no channel reaches the prospect, the thread says so, and a change an agent made also raises
an alert (the agent is waiting for the prospect to be told).

Every message is queued in the outbox once (an idempotency key per appointment and change).
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.booking.appointments import Appointments
from core.booking.ics import google_calendar_link, to_ics
from core.booking.proposal import proposal_buttons, proposal_meta, proposal_text
from core.booking.service import Booking
from core.domain.appointment_changes import AppointmentChange, ChangeKind
from core.domain.appointment_display import words
from core.domain.decision import Reason, ReplyDraft
from core.domain.enums import (
    AppointmentStatus,
    Channel,
    MessageType,
    SenderType,
)
from core.errors import CoccinelleError, InvalidInput
from core.events import Alert, ConversationChanged, MessageChanged
from core.i18n import t
from core.i18n.deferred import line, phrase, phrases
from core.i18n.prospect import prospect_language
from core.orchestrator.loader import load_tenant_inputs
from core.outbox.payload import inline_attachment
from core.pipeline import Kind, Origin, OutgoingRequest, Rendering, submit
from core.pipeline.templates import whatsapp_rendering
from core.reminders.appointment_texts import (
    appointment_values,
    approved_whatsapp,
    place_in,
    render,
    template_source,
)
from core.reminders.service import Reminders, planned_for
from core.storage import tables as t_
from core.storage.service_context import ServiceContext
from core.storage.timeline import record_event

log = logging.getLogger(__name__)
Out = t_.OutboxRow
#: Changes after which the reminders must follow the appointment.
_REPLAN = (
    ChangeKind.BOOKED,
    ChangeKind.CONFIRMED,
    ChangeKind.MOVED,
    ChangeKind.CANCELLED,
    ChangeKind.NO_SHOW,
)
#: Messages that only make sense while the appointment stays as they describe it (the others,
#: a cancellation notice or a re-booking offer, go out whatever becomes of it).
_FOLLOWING = ("confirmation", "proposal", "moved")
#: The template of each notice that has one (the others are catalog texts).
_TEMPLATES = {"confirmation": "rdv_confirmation"}
#: What each notice is, for the pipeline (and the automation policy).
_KINDS = {
    "confirmation": Kind.BOOKING_CONFIRMATION,
    "proposal": Kind.BOOKING_PROPOSAL,
    "moved": Kind.BOOKING_CHANGE,
    "cancelled": Kind.BOOKING_CHANGE,
    "rebook": Kind.BOOKING_REBOOK,
}
#: Slots offered again after a no-show.
REBOOK_SLOTS = 3


class NotTold(CoccinelleError):
    """No channel reaches the prospect now; the message says why."""


@dataclass(frozen=True)
class Content:
    """One message for one channel: its text, and for email its subject, HTML and files."""

    text: str
    subject: str | None = None
    html: str | None = None
    attachments: tuple[dict[str, Any], ...] = ()
    buttons: tuple[dict[str, str], ...] = ()


class AppointmentNotices:
    """The booking hook: reminders and the prospect's confirmation, notices and survey."""

    def __init__(self, ctx: ServiceContext, booking: Booking, reminders: Reminders) -> None:
        self.ctx = ctx
        self.booking = booking
        self.reminders = reminders

    async def __call__(self, change: AppointmentChange) -> None:
        appointment_id = change.appointment.id
        if change.kind in _REPLAN:
            await self.reminders.sync(appointment_id)
        match change.kind:
            case ChangeKind.BOOKED if change.appointment.status == AppointmentStatus.PROPOSED:
                await self.propose(change)
            case ChangeKind.BOOKED:
                await self.confirm(change)
            case ChangeKind.MOVED | ChangeKind.CANCELLED if change.by == SenderType.AGENT:
                await self.tell(change)
            case ChangeKind.DONE:
                await self.reminders.survey_now(appointment_id)

    # -- the three messages ----------------------------------------------------------------

    async def confirm(self, change: AppointmentChange) -> int | None:
        """Queue the booking's confirmation; the message id (None: no channel reaches them)."""
        events: dict[str, tuple[str, bytes]] = {}

        async def calendar(language: str) -> tuple[str, bytes]:
            if language not in events:  # the .ics and link in the prospect's language
                event = await self.booking.calendar_event(change.appointment.id, language)
                events[language] = (google_calendar_link(event), to_ics(event).encode())
            return events[language]

        async def content(session, channel, values, language) -> Content:
            link, ics = await calendar(language)
            values = {**values, "calendar_link": link}
            tenant = self.ctx.tenant_id
            if channel == Channel.EMAIL:
                source = await template_source(
                    session, tenant, channel, "rdv_confirmation", language
                )
                assert source is not None, "the library has an email confirmation per language"
                return Content(
                    text=render(source.text, values),
                    subject=render(source.subject or "", values),
                    html=render(source.html or "", {k: html.escape(v) for k, v in values.items()}),
                    attachments=(_ics_file(language, ics),),
                )
            text_channel = channel if channel == Channel.TELEGRAM else Channel.SMS
            source = await template_source(
                session, tenant, text_channel, "rdv_confirmation", language
            )
            assert source is not None, "the library has a text confirmation per language"
            return Content(text=render(source.text, values))

        return await self._send(change, "confirmation", self._key(change, "booked"), content)

    async def propose(self, change: AppointmentChange) -> int | None:
        """Queue the proposal of a time the prospect has not agreed to yet: it says
        "we propose", never "confirmed", and asks for their OUI (the appointment stays proposed
        until then)."""

        async def content(session, channel, values, language) -> Content:
            place = place_in(change.appointment.location, language)
            text = words(
                language,
                "notice.proposed",
                name=values["name"],
                kind=values["kind"],
                when=values["when"],
                agent=values.get("agent_name") or values["company"],
                place=words(language, "notice.proposed_place", place=place) if place else "",
                company=values["company"],
            )
            subject = words(language, "notice.proposed_subject", date=values["date"])
            return Content(text=text, subject=subject if channel == Channel.EMAIL else None)

        return await self._send(change, "proposal", self._key(change, "booked"), content)

    async def tell(self, change: AppointmentChange) -> int | None:
        """Queue the notice of a move or cancellation made by an agent."""
        appointment = change.appointment
        moved = change.kind == ChangeKind.MOVED
        key = "moved" if moved else "cancelled"
        stamp = appointment.starts_at.isoformat() if moved else ""

        async def content(session, channel, values, language) -> Content:
            text = words(language, f"notice.{key}", **values)
            if channel != Channel.EMAIL:
                return Content(text=text)
            subject = words(language, f"notice.{key}_subject", date=values["date"])
            ics = to_ics(await self.booking.calendar_event(appointment.id, language)).encode()
            return Content(text=text, subject=subject, attachments=(_ics_file(language, ics),))

        return await self._send(change, key, self._key(change, f"{key}:{stamp}"), content)

    async def offer_rebooking(self, appointment_id: int) -> Channel:
        """Send the re-booking proposal of a no-show; the channel it went on.

        Raises:
            InvalidInput: the appointment is not a no-show.
            NotTold: no channel reaches the prospect now (the message says why).
        """
        appointment = await Appointments(self.ctx).get(appointment_id)
        if appointment.status != AppointmentStatus.NO_SHOW:
            raise InvalidInput("appointment", appointment_id, t("booking.rebook.not_no_show"))
        change = AppointmentChange(
            ChangeKind.NO_SHOW, appointment, None, SenderType.AGENT, conversation_id=0
        )
        message_id = await self.offer_again(change, strict=True)
        async with self.ctx.db.session() as session:
            row = await session.get(t_.MessageRow, message_id)
            assert row is not None
            return Channel(row.channel_type)

    async def offer_again(self, change: AppointmentChange, *, strict: bool = False) -> int | None:
        """After a no-show: a proposal of new slots (buttons on Telegram) the prospect answers.

        Each call is a new offer (an agent may offer again days later).
        """
        appointment = change.appointment
        slots = await self.booking.propose_slots(appointment.kind, count=REBOOK_SLOTS)

        async def content(session, channel, values, language) -> Content:
            intro = words(language, "proposal.no_show", kind=values["kind"], when=values["when"])
            telegram = channel == Channel.TELEGRAM
            text = proposal_text(
                language,
                slots,
                values["zone"],
                values["prospect_zone"],
                kind=values["kind"],
                buttons=telegram,
                intro=intro,
            )
            buttons = proposal_buttons(slots, values["zone"], values["prospect_zone"], language)
            return Content(
                text=text,
                subject=words(language, "notice.rebook_subject"),
                buttons=tuple(buttons) if telegram and slots else (),
            )

        meta = proposal_meta(appointment.kind, slots)
        key = self._key(change, f"rebook:{self.ctx.now().isoformat()}")
        return await self._send(change, "rebook", key, content, meta=meta, strict=strict)

    # -- queuing ---------------------------------------------------------------------------

    def _key(self, change: AppointmentChange, what: str) -> str:
        """One message per appointment and change, whoever runs the hook and how often."""
        return f"appt:{self.ctx.tenant_id}:{change.appointment.id}:{what}"

    async def _send(
        self,
        change: AppointmentChange,
        notice: str,
        key: str,
        build,
        *,
        meta: dict[str, Any] | None = None,
        strict: bool = False,
    ) -> int | None:
        """Queue the ``notice`` built by ``build``; None when told already or not sendable.

        ``strict`` raises NotTold instead of recording that no channel reaches the prospect.
        """
        appointment = change.appointment
        now = self.ctx.now()
        async with self.ctx.write() as (session, events):
            if await session.scalar(select(Out.id).where(Out.idempotency_key == key)):
                return None  # told already (a hook run twice)
            prospect = await session.get(t_.ProspectRow, appointment.prospect_id)
            assert prospect is not None
            inputs = await load_tenant_inputs(
                session, self.ctx.tenant_id, self.reminders.settings, now
            )
            settings = inputs.settings
            language = prospect_language(prospect.language, settings.language)
            values = await appointment_values(session, appointment, prospect, settings, language)
            draft = ReplyDraft(
                text=words(language, "notice.day_time", day=values["date"], time=values["time"]),
                message_type=MessageType.APPOINTMENT,
            )
            preferred = await self._their_channel(session, change)
            template = None
            if notice in _TEMPLATES:  # the approved one lets WhatsApp out of the 24 h window
                template = await approved_whatsapp(
                    session, self.ctx.tenant_id, _TEMPLATES[notice], language, values
                )

            async def renderer(session, channel: Channel) -> Rendering:
                content = await build(session, channel, values, language)
                return Rendering(
                    text=content.text,
                    subject=content.subject,
                    html=content.html,
                    attachments=content.attachments,
                    buttons=content.buttons,
                )

            follows = notice in _FOLLOWING  # dropped if the appointment moves before it goes
            request = OutgoingRequest(
                tenant_id=self.ctx.tenant_id,
                prospect_id=prospect.id,
                kind=_KINDS[notice],
                # an agent's change is told on the agent's behalf; the rest is automation
                origin=Origin.AGENT if change.by == SenderType.AGENT else Origin.AUTOMATION,
                # signed by the agent using the app, as the thread's booking event is
                sender_id=self.ctx.agent_id if change.by == SenderType.AGENT else None,
                intent=f"appointment_{notice}",
                about=f"appointment:{appointment.id}",
                draft=draft,
                renderer=renderer,
                weigh_each_rendering=True,  # a channel's length and cost are its own text's
                whatsapp_template=whatsapp_rendering(template, values),
                preferred=preferred,
                first_choice=preferred,
                key=key,
                purpose=f"appointment_{notice}",
                appointment_id=appointment.id if follows else None,
                meta={"appointment_id": appointment.id, "notice": notice, **(meta or {})},
                extra={"appointment_starts_at": planned_for(appointment.starts_at)}
                if follows
                else {},
            )
            (outcome,) = await submit(
                session,
                [request],
                now=now,
                settings=self.reminders.settings,
                events=events,
                inputs=inputs,
            )
            if outcome.status == "duplicate" or outcome.status == "quiet":
                return None
            if outcome.message is None and not inputs.enabled:
                log.info("appointment %s: no channel is set up for the %s", appointment.id, notice)
                return None  # the agency does not message prospects from here
            if outcome.message is None:
                why = outcome.why
                log.warning(
                    "appointment %s: no channel for the %s: %s", appointment.id, notice, why
                )
                if strict:
                    raise NotTold(t("booking.notice.unreachable", why=why))
                blocked = outcome.decision.blocked if outcome.decision is not None else ()
                await self._not_sent(session, events, change, prospect, notice, blocked)
                if change.by == SenderType.AGENT:
                    message = t("booking.notice.unreachable", why=why)
                    events.append(Alert(f"appointment-notice:{appointment.id}", message))
                return None
            return outcome.message.id

    async def _not_sent(
        self,
        session: AsyncSession,
        events: list,
        change: AppointmentChange,
        prospect: t_.ProspectRow,
        notice: str,
        blocked: tuple[Reason, ...],
    ) -> None:
        """No channel reaches the prospect: the thread says so, for an agent to act."""
        conversation = await session.get(t_.ConversationRow, change.conversation_id)
        if conversation is None or conversation.prospect_id != prospect.id:
            return
        text = line(
            "prospect_booking.event.not_sent",
            what=phrase(f"prospect_booking.notice_kind.{notice}"),
            why=phrases([phrase(r.key, **r.model_dump(mode="json")["params"]) for r in blocked]),
        )
        row = await record_event(
            session,
            conversation,
            text,
            sender_type=SenderType.SARA,
            meta={"appointment_id": change.appointment.id, "not_sent": notice},
            created_at=self.ctx.now(),
        )
        events += [MessageChanged(row.id, conversation.id), ConversationChanged(conversation.id)]

    async def _their_channel(
        self, session: AsyncSession, change: AppointmentChange
    ) -> Channel | None:
        """The channel the prospect used to make the change (they expect the answer there)."""
        if change.by == SenderType.AGENT:
            return None
        conversation = await session.get(t_.ConversationRow, change.conversation_id)
        return Channel(conversation.channel_type) if conversation is not None else None


def _ics_file(language: str, content: bytes) -> dict[str, Any]:
    name = words(language, "notice.ics_name")
    return inline_attachment(name, "text/calendar; charset=utf-8; method=PUBLISH", content)


def booking_hooks(
    ctx: ServiceContext, booking: Booking, reminders: Reminders
) -> AppointmentNotices:
    """Attach the notices to ``booking`` (once) and return them."""
    for hook in booking.on_change:
        if isinstance(hook, AppointmentNotices):
            return hook
    notices = AppointmentNotices(ctx, booking, reminders)
    booking.on_change.append(notices)
    return notices
