"""Sara: the automatic answers applied to each inbound message before an agent sees it.

Runs inside the ingest transaction. What she recognises (``core.intents.recognize``) changes the
prospect's appointment or channels, gets an answer queued in the outbox, and leaves an EVENT item
in the thread saying what happened and why. A message she handled is not left unread; anything
else lands in the agents' inbox, open and unread, possibly with the out-of-hours auto-reply.
Every automatic action is recorded with sender type ``sara``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from core import i18n
from core.appointments.changes import ChangeKind
from core.appointments.proposal import when_of
from core.domain.enums import (
    AppointmentStatus,
    Channel,
    Direction,
    MessageKind,
    MessageStatus,
    Priority,
    SenderType,
)
from core.events import ProspectChanged
from core.i18n.prospect import prospect_language
from core.ingest.context import AppointmentNotice, IngestStep
from core.ingest.replies import queue_notice, queue_reply
from core.intents import booking, commands
from core.intents.recognize import Intent, Recognized, normalize, recognize
from core.intents.texts import say, when
from core.service.timeline import append_message, preview_of
from core.storage import tables as t

A = t.AppointmentRow
UPCOMING = (AppointmentStatus.PROPOSED, AppointmentStatus.CONFIRMED)
URGENT_WORDS = ("urgent", "urgence", "asap", "emergency", "au plus vite", "tres vite")


async def handle_inbound(
    step: IngestStep,
    prospect: t.ProspectRow,
    conversation: t.ConversationRow,
    message: t.MessageRow,
    *,
    new_conversation: bool,
) -> Recognized:
    """Apply Sara's rules to one inbound message; returns what she recognised."""
    channel = Channel(conversation.channel_type)
    if channel == Channel.EMAIL:
        await apply_forwarding(step, conversation, message)
    step.answering = message.id
    if (message.meta or {}).get("automated"):  # a machine wrote: left to an agent, unanswered
        return Recognized(Intent.NONE)
    survey = await pending_survey(step, conversation, message)
    recognized = recognize(message.content, survey_pending=survey is not None)
    if recognized.intent == Intent.COMMAND and channel != Channel.TELEGRAM:
        recognized = Recognized(Intent.NONE)
    button = booking.tapped(message) if channel == Channel.TELEGRAM else None
    if button is not None:
        handled = await booking.tap(step, prospect, conversation, message, button)
        label = "booking"
    else:
        handled = await _act(step, prospect, conversation, message, recognized, survey)
        label = str(recognized.intent)
    if not handled and button is None and recognized.intent == Intent.NONE:
        handled = await booking.answer_proposal(step, prospect, conversation, message)
        label = "booking"
    if handled:
        message.meta = {**(message.meta or {}), "sara": label}
        conversation.unread_count = max((conversation.unread_count or 0) - 1, 0)
        conversation.waiting_since = None
    else:
        urgent = is_urgent(message.content)
        if urgent:
            conversation.priority = Priority.URGENT.rank
        await notify_groups(step, prospect, conversation, message, new_conversation, urgent)
        await auto_reply_if_closed(step, prospect, conversation)
    return recognized


async def _act(
    step: IngestStep,
    prospect: t.ProspectRow,
    conversation: t.ConversationRow,
    message: t.MessageRow,
    recognized: Recognized,
    survey: t.MessageRow | None,
) -> bool:
    match recognized.intent:
        case Intent.OPT_OUT:
            await opt_out(step, prospect, conversation, message)
            return True
        case Intent.CONFIRM | Intent.REFUSE | Intent.CANCEL:
            return await answer_appointment(step, prospect, conversation, message, recognized)
        case Intent.RATING if survey is not None:
            await record_rating(step, prospect, conversation, message, survey, recognized)
            return True
        case Intent.COMMAND:
            return await commands.answer(step, prospect, conversation, str(recognized.value))
    return False


async def record_event(
    step: IngestStep, conversation: t.ConversationRow, text: str, meta: dict[str, Any]
) -> t.MessageRow:
    """Leave an EVENT item in the thread, written by Sara."""
    row = await append_message(
        step.session,
        conversation,
        direction=Direction.OUTBOUND,
        sender_type=SenderType.SARA,
        kind=MessageKind.EVENT,
        content=text,
        status=MessageStatus.SENT,
        meta={"sara": True, **meta},
        created_at=step.now,
    )
    step.changed(row)
    return row


async def opt_out(
    step: IngestStep,
    prospect: t.ProspectRow,
    conversation: t.ConversationRow,
    message: t.MessageRow,
) -> None:
    """Disable the channel for the prospect; acknowledge only the first time."""
    channel = str(conversation.channel_type)
    if channel in (prospect.opted_out_channels or []):
        return
    await queue_reply(
        step,
        conversation,
        say(prospect_language(prospect.language, step.settings.language), "opt_out_ack"),
        kind="opt_out_ack",
        meta={"opt_out_ack": True},
    )
    prospect.opted_out_channels = sorted({*(prospect.opted_out_channels or []), channel})
    step.events.append(ProspectChanged(prospect.id))
    text = i18n.t("sara.event_opt_out", channel=channel, text=preview_of(message.content))
    await record_event(step, conversation, text, {"action": "opt_out", "channel": channel})


async def next_appointment(
    step: IngestStep, prospect_id: int, statuses: tuple[AppointmentStatus, ...] = UPCOMING
) -> A | None:
    """The prospect's next appointment still to come, in one of ``statuses``."""
    query = (
        select(A)
        .where(A.prospect_id == prospect_id, A.status.in_(statuses), A.starts_at >= step.now)
        .order_by(A.starts_at, A.id)
        .limit(1)
    )
    return (await step.session.execute(query)).scalar_one_or_none()


_APPOINTMENT_RULES = {
    # intent: (statuses it applies to, new status, reply key, event key)
    Intent.CONFIRM: (UPCOMING, AppointmentStatus.CONFIRMED, "confirm_ack", "event_confirmed"),
    Intent.REFUSE: (
        (AppointmentStatus.PROPOSED,),
        AppointmentStatus.CANCELLED,
        "refuse_ack",
        "event_refused",
    ),
    Intent.CANCEL: (UPCOMING, AppointmentStatus.CANCELLED, "cancel_ack", "event_cancelled"),
}


async def answer_appointment(
    step: IngestStep,
    prospect: t.ProspectRow,
    conversation: t.ConversationRow,
    message: t.MessageRow,
    recognized: Recognized,
) -> bool:
    """Confirm, decline or cancel the next appointment; False when there is none to change."""
    # A yes or no answers the next proposal; a cancellation takes the next appointment.
    appointment = None
    if recognized.intent != Intent.CANCEL:
        appointment = await next_appointment(step, prospect.id, (AppointmentStatus.PROPOSED,))
    appointment = appointment or await next_appointment(step, prospect.id)
    rule = _APPOINTMENT_RULES[recognized.intent]
    if appointment is None or appointment.status not in rule[0]:
        return False
    await change_appointment(step, prospect, conversation, appointment, recognized, message)
    return True


async def change_appointment(
    step: IngestStep,
    prospect: t.ProspectRow,
    conversation: t.ConversationRow,
    appointment: A,
    recognized: Recognized,
    message: t.MessageRow | None,
    *,
    callback: dict[str, Any] | None = None,
) -> None:
    """Change ``appointment`` as the prospect asked, answer them and record why.

    The change goes through the booking service (``change_in``), so its hooks re-plan or
    withdraw the reminders after the commit, as for a change made in the app.
    """
    _, new_status, reply_key, event_key = _APPOINTMENT_RULES[recognized.intent]
    language = prospect_language(prospect.language, step.settings.language)
    previous = str(appointment.status)
    said = preview_of(message.content) if message is not None else f"/{recognized.value}"
    agent_moment = when(appointment.starts_at, _agent_language(), step.settings.timezone)
    note = i18n.t(f"sara.{event_key}", when=agent_moment, text=said)
    meta = {
        "sara": True,
        "action": str(recognized.intent),
        "from": previous,
        "to": str(new_status),
        "reason": said,
    }
    kind = (
        ChangeKind.CONFIRMED if new_status == AppointmentStatus.CONFIRMED else ChangeKind.CANCELLED
    )
    assert step.booking is not None, "the ingest step needs the booking service"
    change = await step.booking.change_in(
        step.session,
        step.events,
        appointment.id,
        kind,
        by=SenderType.PROSPECT,
        reason=said if kind == ChangeKind.CANCELLED else None,
        conversation_id=conversation.id,
        note=note,
        meta=meta,
    )
    if change is None:  # already confirmed: say so, nothing changes
        reply_key = "already_confirmed"
        await record_event(step, conversation, note, {**meta, "appointment_id": appointment.id})
    else:
        step.booking_changes.append(change)
        step.appointment_changes.append(
            AppointmentNotice(appointment.id, str(new_status), previous, said, conversation.id)
        )
    moment = when_of(appointment.starts_at, step.settings.timezone, prospect.timezone, language)
    await queue_reply(
        step,
        conversation,
        say(language, reply_key, when=moment),
        kind=reply_key,
        callback=callback,
        about=f"appointment:{appointment.id}",
    )


#: Outbound messages the prospect never got: not what they are answering.
_NOT_RECEIVED = (
    MessageStatus.CANCELLED,
    MessageStatus.EXPIRED,
    MessageStatus.FAILED,
    MessageStatus.UNDELIVERED,
)


async def last_outbound(
    step: IngestStep, conversation: t.ConversationRow, message: t.MessageRow
) -> t.MessageRow | None:
    """The last message the prospect got in ``conversation`` before ``message`` (by the time it
    went out: a survey brought forward goes out after messages queued later)."""
    M = t.MessageRow
    query = (
        select(M)
        .where(
            M.conversation_id == conversation.id,
            M.direction == Direction.OUTBOUND,
            M.kind == MessageKind.MESSAGE,
            M.id < message.id,
            M.status.not_in(_NOT_RECEIVED),
        )
        .order_by(func.coalesce(M.sent_at, M.created_at).desc(), M.id.desc())
        .limit(1)
    )
    return (await step.session.execute(query)).scalar_one_or_none()


async def pending_survey(
    step: IngestStep, conversation: t.ConversationRow, message: t.MessageRow
) -> t.MessageRow | None:
    """The last outbound message before ``message``, if it is a survey not yet answered."""
    last = await last_outbound(step, conversation, message)
    if last is None or not (last.meta or {}).get("survey") or "rating" in (last.meta or {}):
        return None
    return last


async def record_rating(
    step: IngestStep,
    prospect: t.ProspectRow,
    conversation: t.ConversationRow,
    message: t.MessageRow,
    survey: t.MessageRow,
    recognized: Recognized,
) -> None:
    """Store a 1–5 rating on the survey and the answer, thank the prospect."""
    rating = int(recognized.value or 0)
    survey.meta = {**(survey.meta or {}), "rating": rating}
    message.meta = {**(message.meta or {}), "rating": rating, "survey_message_id": survey.id}
    step.changed(survey)
    language = prospect_language(prospect.language, step.settings.language)
    thanks = say(language, "rating_thanks", rating=rating)
    await queue_reply(step, conversation, thanks, kind="rating", about=f"survey:{survey.id}")
    text = i18n.t("sara.event_rating", rating=rating)
    await record_event(step, conversation, text, {"action": "rating", "rating": rating})


def is_urgent(text: str) -> bool:
    """Whether a message asks for haste in so many words."""
    words = f" {normalize(text)} "
    return any(f" {word} " in words for word in URGENT_WORDS)


async def notify_groups(
    step: IngestStep,
    prospect: t.ProspectRow,
    conversation: t.ConversationRow,
    message: t.MessageRow,
    new_conversation: bool,
    urgent: bool,
) -> None:
    """Tell the tenant's Telegram groups about a new conversation or an urgent message."""
    if not (new_conversation or urgent) or not step.settings.telegram_notify_chat_ids:
        return
    key = "notify_urgent" if urgent else "notify_new"
    text = i18n.t(
        f"sara.{key}",
        channel=conversation.channel_type,
        name=prospect.display_name,
        preview=preview_of(message.subject or message.content),
    )
    for chat_id in step.settings.telegram_notify_chat_ids:
        queue_notice(
            step,
            channel=Channel.TELEGRAM,
            to=str(chat_id),
            text=text,
            purpose="notify",
            key=f"{chat_id}:{key}",
            conversation_id=conversation.id,
        )


def is_available(settings: Any, now: datetime) -> bool:
    """Whether agents are at work at ``now`` (the tenant's availability hours)."""
    hours = settings.availability
    if not hours.enabled:
        return True
    local = now.astimezone(ZoneInfo(settings.timezone))
    if local.weekday() not in hours.weekdays:
        return False
    return hours.start <= local.time().replace(tzinfo=None) < hours.end


async def auto_reply_if_closed(
    step: IngestStep, prospect: t.ProspectRow, conversation: t.ConversationRow
) -> None:
    """Outside availability hours, answer once per conversation per (local) day."""
    if is_available(step.settings, step.now):
        return
    today = step.now.astimezone(ZoneInfo(step.settings.timezone)).date().isoformat()
    context = dict(conversation.context or {})
    if context.get("sara_auto_reply_day") == today:
        return
    context["sara_auto_reply_day"] = today
    conversation.context = context
    language = prospect_language(prospect.language, step.settings.language)
    default_text = type(step.settings).model_fields["auto_reply_text"].default
    custom = step.settings.auto_reply_text
    text = custom if custom != default_text or language == "fr" else say(language, "auto_reply")
    await queue_reply(step, conversation, text, kind="auto_reply")


async def apply_forwarding(
    step: IngestStep, conversation: t.ConversationRow, message: t.MessageRow
) -> None:
    """Forward an inbound email matching a rule (sender, subject or keyword) to its address."""
    sender = str((message.meta or {}).get("sender", "")).casefold()
    subject = (message.subject or "").casefold()
    body = f"{subject}\n{message.content}".casefold()
    done: set[str] = set()
    for rule in step.settings.forwarding_rules:
        haystack = {"sender": sender, "subject": subject, "keyword": body}[rule.field]
        if rule.contains.casefold() not in haystack or rule.forward_to in done:
            continue
        done.add(rule.forward_to)
        queue_notice(
            step,
            channel=Channel.EMAIL,
            to=rule.forward_to,
            subject=i18n.t("sara.forward_subject", subject=message.subject or ""),
            text=i18n.t("sara.forward_body", sender=sender, text=message.content),
            purpose="forward",
            key=rule.forward_to,
            conversation_id=conversation.id,
        )
        text = i18n.t(
            "sara.event_forwarded", to=rule.forward_to, field=rule.field, contains=rule.contains
        )
        meta = {"action": "forward", "to": rule.forward_to, "rule": rule.model_dump()}
        await record_event(step, conversation, text, meta)


def _agent_language() -> str:
    return i18n.language()
