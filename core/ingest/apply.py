"""Turning one normalized provider event into domain changes, inside the ingest transaction."""

from __future__ import annotations

import base64
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import literal, select

from core.automation.detect import automated_reason
from core.channels.adapter import (
    Attachment,
    CallReport,
    EngagementEvent,
    InboundMessage,
    NormalizedEvent,
    StatusUpdate,
)
from core.domain.enums import (
    Channel,
    Direction,
    MessageKind,
    MessageStatus,
    Provider,
    SenderType,
)
from core.events import ProspectChanged
from core.ingest.identity import canonical_identifier, resolve_prospect
from core.ingest.storable import storable_event
from core.intents.sara import handle_inbound
from core.media import MAX_MEDIA_BYTES
from core.storage import tables as t
from core.storage.convert import to_micros
from core.storage.inbound_step import IngestStep
from core.storage.timeline import (
    append_message,
    apply_status,
    attach_message,
    find_conversation,
    message_values,
    open_conversation,
    preview_of,
)
from core.team.assignment import assign_new_conversation

log = logging.getLogger(__name__)
M = t.MessageRow


class Ignored(Exception):
    """The event refers to nothing we know (recorded on the stored event, not an error)."""


async def apply_event(step: IngestStep, event: NormalizedEvent) -> None:
    """Apply one normalized event.

    Raises:
        Ignored: a status or engagement for a message we never sent.
        InvalidInput: a sender identifier that is not one of its channel.
    """
    event = storable_event(event)  # once, before anything of it is written
    match event:
        case InboundMessage():
            await apply_inbound(step, event)
        case StatusUpdate():
            await apply_status_update(step, event)
        case EngagementEvent():
            await apply_engagement(step, event)
        case CallReport():
            await apply_call(step, event)


async def apply_inbound(step: IngestStep, event: InboundMessage) -> t.MessageRow | None:
    """A prospect wrote: find or create them, upsert the conversation, add the message.

    A replay of a message already stored (same provider message id) changes nothing; an edit
    of it (``extra["edited"]``, from Telegram) updates its text and keeps the previous one.

    Raises:
        Ignored: a message in a group chat (groups are not prospects).
    """
    existing = await _message_by_id(step, event.provider, event.provider_message_id)
    if existing is not None:
        if event.extra.get("edited"):
            apply_edit(step, existing, event)
        return None
    if event.extra.get("chat_type") in GROUP_CHATS:
        raise Ignored(f"a message in a {event.extra['chat_type']} chat (groups are not prospects)")
    prospect, _ = await resolve_prospect(step, event.channel, event.sender, event.sender_name)
    identifier = canonical_identifier(event.channel, event.sender)
    conversation = await latest_conversation(step, prospect.id, event.channel)
    new_conversation = conversation is None
    if conversation is None:
        conversation = await open_conversation(
            step.session,
            prospect,
            event.channel,
            identifier=identifier,
            subject=event.subject,
            created_at=step.now,
            flush=step.settings.auto_assign,  # else inserted with its context and message
        )
        await assign_if_wanted(step, conversation)
    remember_provider(conversation, event)
    message = await append_inbound(step, conversation, event)
    if new_conversation:
        opened(step, conversation)
    known(step, message)
    step.changed(message)
    await handle_inbound(step, prospect, conversation, message, new_conversation=new_conversation)
    return message


async def append_inbound(
    step: IngestStep,
    conversation: t.ConversationRow,
    event: InboundMessage,
    flush: bool = True,
    row: t.MessageRow | None = None,
) -> t.MessageRow:
    """The prospect's message ``event`` stored in ``conversation`` (``flush=False``: written
    with the next flush, a group's; ``row``: its row, built by ``inbound_row`` before the
    transaction took the write lock)."""
    if row is not None:
        return await attach_message(step.session, conversation, row, flush=flush)
    return await append_message(
        step.session,
        conversation,
        flush=flush,
        **_inbound_fields(step, event),
    )


def inbound_row(step: IngestStep, event: InboundMessage) -> t.MessageRow:
    """The row of the prospect's message ``event``, not yet in any conversation nor session:
    Python work only, done before the ingest transaction takes the write lock
    (``append_inbound`` attaches it to its conversation)."""
    unknown = _NoConversation(step.tenant_id, str(Channel(event.channel)))
    return t.MessageRow(**message_values(unknown, **_inbound_fields(step, event)))


@dataclass(frozen=True, slots=True)
class _NoConversation:
    """What ``message_values`` reads of a conversation not known yet."""

    tenant_id: int
    channel_type: str
    id: int | None = None
    prospect_id: int = 0


def _inbound_fields(step: IngestStep, event: InboundMessage) -> dict[str, Any]:
    return dict(
        direction=Direction.INBOUND,
        sender_type=SenderType.PROSPECT,
        content=message_text(event),
        subject=event.subject,
        status=MessageStatus.RECEIVED,
        meta=inbound_meta(event, automated_reason_of(step, event)),
        provider=event.provider,
        provider_message_id=event.provider_message_id,
        created_at=moment(step, event.occurred_at),
    )


def remember_provider(conversation: t.ConversationRow, event: InboundMessage) -> None:
    """Answer through the provider and number the prospect last wrote to.

    A channel may run on two providers at once (WhatsApp on Twilio and on Meta, during a move):
    replies go out the way the prospect's message came in.
    """
    context = dict(conversation.context or {})
    wanted = {"provider": str(event.provider), "our_number": event.recipient}
    if any(context.get(k) != v for k, v in wanted.items()):
        conversation.context = {**context, **wanted}


#: Telegram chat types that are not one person: their messages create no prospect.
GROUP_CHATS = frozenset({"group", "supergroup", "channel"})


def apply_edit(step: IngestStep, message: t.MessageRow, event: InboundMessage) -> None:
    """The prospect edited a message: new text, previous texts kept in ``meta["edits"]``."""
    text = message_text(event)
    if text == message.content:
        return  # a replay of the edit
    meta = dict(message.meta or {})
    edits = list(meta.get("edits") or [])
    edits.append({"text": message.content, "replaced_at": step.now.isoformat()})
    meta["edits"] = edits
    meta["edited_at"] = step.now.isoformat()
    message.meta = meta
    message.content = text
    step.changed(message)


async def assign_if_wanted(step: IngestStep, conversation: t.ConversationRow) -> None:
    """Round-robin a conversation the prospect just opened, when the tenant turned it on.

    ``step.settings`` was read at the start of the pass; ``assign_new_conversation`` reads the
    setting again under the tenant's lock, so a pass started just before it was turned off
    assigns nothing.
    """
    if step.settings.auto_assign:
        await assign_new_conversation(step.session, conversation, at=step.now)


def message_text(event: InboundMessage) -> str:
    """The text to keep: the text part, or (an HTML-only email) the HTML as sanitised text.

    The HTML itself stays in ``meta["html"]``; it is never rendered, and what it points at
    (remote images, tracking pixels) is never fetched.
    """
    if event.text and event.text.strip():
        return event.text
    if event.html:
        from core.sanitize import email_html_to_text

        return email_html_to_text(event.html)
    return event.text or ""


def moment(step: IngestStep, occurred_at: datetime | None) -> datetime:
    """When it happened, as the provider says, but never later than now (clocks drift).

    A time given to the second (Telegram's and Meta's are) is read as the end of that second:
    a prospect's answer in the same second as the message it answers then follows it in the
    thread instead of preceding it.
    """
    if occurred_at is None or occurred_at.tzinfo is None:
        return step.now
    if occurred_at.microsecond == 0:
        occurred_at += _REST_OF_A_SECOND
    return min(occurred_at, step.now)


_REST_OF_A_SECOND = timedelta(microseconds=999_999)


def automated_reason_of(step: IngestStep, event: InboundMessage) -> str | None:
    """Why ``event`` was written by a machine (auto-reply headers or subject, our own number,
    a bot), or None: Sara never answers such a message (``core.automation``)."""
    return automated_reason(
        channel=str(event.channel),
        sender=event.sender,
        recipient=event.recipient,
        subject=event.subject,
        extra=event.extra or {},
        own=step.own_addresses,
    )


def _attachment(attachment: Attachment) -> dict[str, Any]:
    """An attachment as the message keeps it. Content that came inline (SendGrid Inbound Parse
    posts the files themselves: no URL to fetch later) is kept with the message, base64, up to
    the media limit, so the thread can open and save it (``core.service.attachments``)."""
    item: dict[str, Any] = {
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "url": attachment.url,
    }
    if attachment.content is not None:
        item["size"] = len(attachment.content)
        if len(attachment.content) <= MAX_MEDIA_BYTES:
            item["data"] = base64.b64encode(attachment.content).decode("ascii")
        else:
            item["too_large"] = True
    return item


def inbound_meta(event: InboundMessage, automated: str | None = None) -> dict[str, Any]:
    """What an inbound message carries besides its text, as JSON; ``automated`` is why a
    machine sent it (``core.automation.detect``)."""
    meta: dict[str, Any] = {"sender": event.sender}
    if automated:
        meta["automated"] = automated
    if event.sender_name:
        meta["sender_name"] = event.sender_name
    if event.recipient:
        meta["recipient"] = event.recipient
    if event.attachments:
        meta["attachments"] = [_attachment(a) for a in event.attachments]
    if event.location is not None:
        meta["location"] = asdict(event.location)
    if event.html:
        meta["html"] = event.html
    if event.in_reply_to:
        meta["in_reply_to"] = event.in_reply_to
    if event.button_payload:
        meta["button_payload"] = event.button_payload
    if event.occurred_at:
        meta["occurred_at"] = event.occurred_at.isoformat()
    if event.extra:
        meta["extra"] = _jsonable(dict(event.extra))
    return meta


async def apply_status_update(step: IngestStep, event: StatusUpdate) -> None:
    """Move a sent message's status forward, with its timestamps, error and cost."""
    message = await find_sent_message(
        step,
        event.provider,
        event.provider_message_id,
        prefix=event.prefix_match,
        reference=event.reference,
    )
    if message is None:
        raise Ignored(f"status {event.status} for unknown message {event.provider_message_id}")
    changed = apply_status(
        message,
        event.status,
        at=event.occurred_at or step.now,
        error_code=event.error_code,
        error_message=(event.error_message or None) and event.error_message[:500],
    )
    if event.cost is not None and message.cost_micros is None:
        message.cost_micros, message.currency = to_micros(event.cost), "EUR"
        changed = True
    if changed:
        step.changed(message)


async def apply_engagement(step: IngestStep, event: EngagementEvent) -> None:
    """Record an open or click on an email; an unsubscribe or spam report opts the prospect out."""
    message = await find_sent_message(
        step,
        event.provider,
        event.provider_message_id,
        prefix=event.prefix_match,
        reference=event.reference,
    )
    if message is None:
        raise Ignored(f"{event.kind} for unknown message {event.provider_message_id}")
    meta = dict(message.meta or {})
    entry = {"at": (event.occurred_at or step.now).isoformat()}
    if event.url:
        entry["url"] = event.url
    meta.setdefault("engagement", []).append({"kind": event.kind, **entry})
    if event.kind == "click":  # the first click, as analytics, A/B tests and campaigns read it
        meta.setdefault("clicked_at", entry["at"])
    message.meta = meta
    if event.kind == "open":
        apply_status(message, MessageStatus.READ, at=event.occurred_at or step.now)
    if event.kind in ("unsubscribe", "spamreport"):
        prospect = await step.session.get(t.ProspectRow, message.prospect_id)
        if prospect is not None and event.channel not in (prospect.opted_out_channels or []):
            prospect.opted_out_channels = sorted({*prospect.opted_out_channels, event.channel})
            step.events.append(ProspectChanged(prospect.id))
    step.changed(message)


async def apply_call(step: IngestStep, event: CallReport) -> None:
    """A voice call: one CALL item per call id, updated as reports arrive."""
    message = await _message_by_id(step, event.provider, event.provider_call_id, sent=True)
    if message is None:
        if not event.phone:
            raise Ignored(f"call {event.provider_call_id} has no phone number")
        prospect, _ = await resolve_prospect(step, Channel.VOICE, event.phone)
        conversation = await latest_conversation(step, prospect.id, Channel.VOICE)
        if conversation is None:
            identifier = canonical_identifier(Channel.VOICE, event.phone)
            conversation = await open_conversation(
                step.session, prospect, Channel.VOICE, identifier=identifier, created_at=step.now
            )
            opened(step, conversation)
            await assign_if_wanted(step, conversation)
        inbound = event.direction == "inbound"
        message = await append_message(
            step.session,
            conversation,
            direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
            sender_type=SenderType.PROSPECT if inbound else SenderType.SARA,
            kind=MessageKind.CALL,
            content=event.summary or "",
            status=MessageStatus.RECEIVED if inbound else MessageStatus.SENT,
            meta={},
            provider=event.provider,
            provider_message_id=event.provider_call_id,
            created_at=moment(step, event.started_at),
        )
        known(step, message)
    message.meta = {**(message.meta or {}), **call_meta(event)}
    if event.summary and event.summary != message.content:
        message.content = event.summary
        await _preview_call(step, message)
    if event.cost is not None:
        message.cost_micros, message.currency = to_micros(event.cost), "EUR"
    step.changed(message)


async def _preview_call(step: IngestStep, message: t.MessageRow) -> None:
    """A call's summary arrives after the call was stored (empty, as it started): when the call
    is still the conversation's latest item, the inbox shows the summary as its last message."""
    conversation = await step.session.get(t.ConversationRow, message.conversation_id)
    if conversation is None or conversation.last_message_at is None:
        return
    if message.created_at is not None and message.created_at >= conversation.last_message_at:
        conversation.last_message_preview = preview_of(message.content)


def call_meta(event: CallReport) -> dict[str, Any]:
    """The call's details for the thread: state, duration, summary, transcript, recording."""
    fields = {
        "call_status": event.status,
        "direction": event.direction,
        "started_at": event.started_at.isoformat() if event.started_at else None,
        "ended_at": event.ended_at.isoformat() if event.ended_at else None,
        "duration_seconds": event.duration_seconds,
        "ended_reason": event.ended_reason,
        "summary": event.summary,
        "transcript": event.transcript,
        "recording_url": event.recording_url,
        "final": event.final,
    }
    return {k: v for k, v in fields.items() if v is not None}


async def find_sent_message(
    step: IngestStep,
    provider: Provider,
    provider_message_id: str,
    *,
    prefix: bool = False,
    reference: str | None = None,
) -> t.MessageRow | None:
    """The message a status is about: by id, by id prefix (SendGrid), or by our reference."""
    if prefix and provider_message_id:
        # SendGrid's event id is the id stored at the send plus ".filter…": when the batch's
        # lookups found that message, no query is needed (the full id is never stored)
        known = _looked_up(step, provider, prefix_base(provider_message_id))
        if known is not None:
            return known
    message = await _message_by_id(step, provider, provider_message_id, sent=True)
    if message is None and prefix and provider_message_id:
        base = prefix_base(provider_message_id)
        message = await _message_by_id(step, provider, base, sent=True)
        if message is None:
            query = (
                select(M)
                .where(
                    M.provider == provider,
                    M.tenant_id == step.tenant_id,
                    literal(provider_message_id).like(M.provider_message_id + "%"),
                )
                .limit(1)
            )
            message = (await step.session.execute(query)).scalar_one_or_none()
    if message is None and reference:
        sent = select(t.OutboxRow.message_id).where(t.OutboxRow.idempotency_key == reference)
        message_id = (await step.session.execute(sent)).scalar_one_or_none()
        if message_id is not None:
            message = await step.session.get(M, message_id)
    return message


def prefix_base(provider_message_id: str) -> str:
    """The id a prefix-matched event id (SendGrid's ``sg_message_id``) extends."""
    return provider_message_id.split(".", 1)[0]


def _looked_up(
    step: IngestStep, provider: Provider, provider_message_id: str
) -> t.MessageRow | None:
    """The message with this provider id among the batch's lookups (None: not there or not
    read)."""
    if step.lookups is None:
        return None
    return step.lookups.messages.get((str(provider), provider_message_id))


async def _message_by_id(
    step: IngestStep, provider: Provider, provider_message_id: str, *, sent: bool = False
) -> t.MessageRow | None:
    """The message stored with this provider id. ``sent``: one the outbox sent, whose id
    may have been stored after the batch's lookups were read (PostgreSQL), so that a miss
    there is asked again; inbound messages are stored by ingest alone."""
    if not provider_message_id:
        return None
    lookups = step.lookups
    key = (str(provider), provider_message_id)
    if lookups is not None and key in lookups.messages:
        found = lookups.messages[key]
        if found is not None or not sent:
            return found
    query = select(M).where(
        M.provider == provider,
        M.provider_message_id == provider_message_id,
        M.tenant_id == step.tenant_id,
    )
    return (await step.session.execute(query.limit(1))).scalar_one_or_none()


def known(step: IngestStep, message: t.MessageRow) -> None:
    """Note a message the batch stored, so that a replay later in the batch finds it."""
    if step.lookups is not None and message.provider and message.provider_message_id:
        step.lookups.messages[(str(message.provider), message.provider_message_id)] = message


def opened(step: IngestStep, conversation: t.ConversationRow) -> None:
    """Note a conversation this step opened (after the flush that gave it an id)."""
    step.opened.add(conversation.id)
    if step.lookups is not None:
        key = (conversation.prospect_id, str(Channel(conversation.channel_type)))
        step.lookups.conversations[key] = conversation


async def latest_conversation(
    step: IngestStep, prospect_id: int, channel: Channel
) -> t.ConversationRow | None:
    """The prospect's latest conversation on ``channel`` (from the batch's lookups if read)."""
    lookups = step.lookups
    key = (prospect_id, str(Channel(channel)))
    if lookups is not None and key in lookups.conversations:
        return lookups.conversations[key]
    return await find_conversation(step.session, prospect_id, channel)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
