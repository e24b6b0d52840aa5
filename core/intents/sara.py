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

from core import i18n
from core.booking import chat as booking
from core.domain.enums import (
    AppointmentStatus,
    Channel,
    Priority,
)
from core.events import ProspectChanged
from core.i18n.deferred import channel as channel_word
from core.i18n.deferred import line
from core.i18n.prospect import prospect_language
from core.i18n.sara import say
from core.intents import commands
from core.intents.recognize import Intent, Recognized, normalize, recognize
from core.pipeline.replies import queue_notice, queue_reply
from core.storage import tables as t
from core.storage.inbound_step import IngestStep, last_outbound, record_event
from core.storage.timeline import preview_of

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
    if provider_confirmed_opt_out(channel, message):  # Twilio blocks the number whatever we say
        recognized = Recognized(Intent.OPT_OUT)
    if recognized.intent == Intent.COMMAND and channel != Channel.TELEGRAM:
        recognized = Recognized(Intent.NONE)
    button = booking.tapped(message) if channel == Channel.TELEGRAM else None
    if provider_confirmed_opt_in(channel, message, prospect):
        await opt_in(step, prospect, conversation, message)
        handled, label = True, "opt_in"
    elif button is not None:
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
            answer = booking.Answer(recognized.intent)
            return await booking.answer_appointment(step, prospect, conversation, message, answer)
        case Intent.RATING if survey is not None:
            await record_rating(step, prospect, conversation, message, survey, recognized)
            return True
        case Intent.COMMAND:
            return await commands.answer(step, prospect, conversation, str(recognized.value))
    return False


async def opt_out(
    step: IngestStep,
    prospect: t.ProspectRow,
    conversation: t.ConversationRow,
    message: t.MessageRow,
) -> None:
    """Disable the channel for the prospect; acknowledge only the first time.

    No acknowledgement when the provider gave its own (Twilio's SMS keywords): Twilio then
    refuses every SMS to the number (21610), and another channel would be unasked-for.
    """
    channel = str(conversation.channel_type)
    if channel in (prospect.opted_out_channels or []):
        return
    by_provider = provider_confirmed_opt_out(Channel(channel), message)
    if not by_provider:
        await queue_reply(
            step,
            conversation,
            say(prospect_language(prospect.language, step.settings.language), "opt_out_ack"),
            kind="opt_out_ack",
            meta={"opt_out_ack": True},
        )
    prospect.opted_out_channels = sorted({*(prospect.opted_out_channels or []), channel})
    step.events.append(ProspectChanged(prospect.id))
    text = line(
        "sara.event_opt_out_provider" if by_provider else "sara.event_opt_out",
        channel=channel_word(channel),
        text=preview_of(message.content),
    )
    await record_event(step, conversation, text, {"action": "opt_out", "channel": channel})


#: Twilio's own opt-out keywords (a single word, any case, docs/providers.md §1.8): Twilio
#: answers them itself and refuses every later SMS from our number with 21610.
TWILIO_OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})


def provider_confirmed_opt_out(channel: Channel, message: t.MessageRow) -> bool:
    """Whether the SMS provider opted the sender out itself (and told them so).

    Twilio's ``OptOutType`` decides when present (Advanced Opt-Out may change the keywords);
    else the default keywords. Other channels' providers do nothing of the kind.
    """
    if channel != Channel.SMS:
        return False
    extra = (message.meta or {}).get("extra") or {}
    if extra.get("OptOutType"):
        return str(extra["OptOutType"]).upper() == "STOP"
    return (message.content or "").strip().upper() in TWILIO_OPT_OUT_WORDS


#: Twilio's opt-in keywords: a number that said STOP may send SMS again after one of them.
TWILIO_OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})


def provider_confirmed_opt_in(
    channel: Channel, message: t.MessageRow, prospect: t.ProspectRow
) -> bool:
    """Whether the SMS provider lifted its block for a prospect opted out of SMS.

    Only a prospect opted out of SMS is opted in: for anyone else "YES" answers a proposal.
    """
    if channel != Channel.SMS or Channel.SMS not in (prospect.opted_out_channels or []):
        return False
    extra = (message.meta or {}).get("extra") or {}
    if extra.get("OptOutType"):
        return str(extra["OptOutType"]).upper() == "START"
    return (message.content or "").strip().upper() in TWILIO_OPT_IN_WORDS


async def opt_in(
    step: IngestStep,
    prospect: t.ProspectRow,
    conversation: t.ConversationRow,
    message: t.MessageRow,
) -> None:
    """SMS is the prospect's channel again (Twilio confirmed it to them: nothing is sent)."""
    channel = str(conversation.channel_type)
    prospect.opted_out_channels = [c for c in prospect.opted_out_channels or [] if c != channel]
    step.events.append(ProspectChanged(prospect.id))
    text = line(
        "sara.event_opt_in_provider",
        channel=channel_word(channel),
        text=preview_of(message.content),
    )
    await record_event(step, conversation, text, {"action": "opt_in", "channel": channel})


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
    text = line("sara.event_rating", rating=rating)
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
    # The tenant's own text is written in the tenant's language; others get the neutral one.
    custom = step.settings.auto_reply_text.strip()
    same_language = language == step.settings.language
    text = custom if custom and same_language else say(language, "auto_reply")
    await queue_reply(step, conversation, text, kind="auto_reply", later=True)


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
        text = line(
            "sara.event_forwarded", to=rule.forward_to, field=rule.field, contains=rule.contains
        )
        meta = {"action": "forward", "to": rule.forward_to, "rule": rule.model_dump()}
        await record_event(step, conversation, text, meta)
