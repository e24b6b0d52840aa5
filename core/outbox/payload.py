"""What an outbox row carries (``payload``), and how it becomes an ``OutgoingMessage``."""

from __future__ import annotations

import base64
import mimetypes
from datetime import datetime
from pathlib import Path
from typing import Any

from core.channels.adapter import Attachment, Button, Location, OutgoingMessage, TemplateRef
from core.domain.decision import ReplyDraft
from core.domain.enums import Channel
from core.errors import InvalidInput

#: Longest subject made up from a text (RFC 5322 recommends lines of at most 78 characters).
EMAIL_SUBJECT_MAX = 78


def build_payload(
    draft: ReplyDraft,
    contacts: dict[Channel, str],
    *,
    template: dict[str, Any] | None = None,
    location: dict[str, Any] | None = None,
    sender_name: str | None = None,
    policy: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON payload of a send: rendered content and every address it may fall back to.

    ``policy`` (``hold_policy``) lets the worker keep retries and fallbacks out of the prospect's
    quiet hours too.
    """
    return {
        "policy": policy,
        "text": draft.text,
        "subject": draft.subject,
        "html": draft.html,
        "attachments": [_attachment(p) for p in draft.attachments],
        "location": location,
        "template": template,
        "contacts": {str(c): v for c, v in contacts.items()},
        "sender_name": sender_name,
    }


def hold_policy(timezone: str, urgency: str, message_type: str) -> dict[str, Any]:
    """What the worker needs to apply the quiet rules to a retry or a fallback."""
    return {"timezone": timezone, "urgency": str(urgency), "message_type": str(message_type)}


def _attachment(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise InvalidInput("attachment", str(path), "an existing, readable file")
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return {"filename": path.name, "content_type": kind, "path": str(path.resolve())}


def outgoing(
    payload: dict[str, Any], channel: Channel, reference: str, now: datetime | None = None
) -> OutgoingMessage:
    """The message to hand to ``channel``'s adapter (``now`` picks WhatsApp's template once the
    24 h window has closed).

    Raises:
        InvalidInput: the prospect has no address on ``channel``, or WhatsApp's window has
            closed and there is no approved template to send instead.
    """
    to = (payload.get("contacts") or {}).get(str(channel))
    sendable = for_channel(payload, channel, now)
    if sendable is None:
        raise InvalidInput("channel", str(channel), "an open 24 h window or an approved template")
    payload = sendable
    if not to:
        raise InvalidInput("channel", str(channel), "a channel the prospect has an address on")
    template = payload.get("template") if channel == Channel.WHATSAPP else None
    in_reply_to = payload.get("in_reply_to") if channel == Channel.EMAIL else None
    location = payload.get("location")
    telegram = channel == Channel.TELEGRAM
    callback = (payload.get("callback") or {}) if telegram else {}
    return OutgoingMessage(
        channel=channel,
        to=to,
        text=payload.get("text") or "",
        subject=payload.get("subject")
        or (_subject_of(payload) if channel == Channel.EMAIL else None),
        html=payload.get("html") if channel == Channel.EMAIL else None,
        attachments=tuple(_load(a) for a in payload.get("attachments") or ()),
        location=Location(**location) if location else None,
        template=_template_ref(template) if template else None,
        reference=reference,
        in_reply_to=in_reply_to,
        references=(in_reply_to,) if in_reply_to else (),
        sender_name=payload.get("sender_name"),
        buttons=tuple(Button(b["id"], b["title"]) for b in payload.get("buttons") or ())
        if telegram
        else (),
        callback_query_id=callback.get("id"),
        callback_text=callback.get("text"),
    )


def for_channel(
    payload: dict[str, Any], channel: Channel, now: datetime | None = None
) -> dict[str, Any] | None:
    """``payload`` with the content written for ``channel`` when it has one (``variants``).

    The pipeline stores each candidate channel's rendering, so that a fallback sends what was
    written for the channel it falls back to. WhatsApp's free-form rendering holds until its
    24 h window closes (``window_until``); after that its approved template
    (``template_after``) is sent, and without one: None, the channel cannot carry it.
    """
    variant = (payload.get("variants") or {}).get(str(channel))
    if not variant:
        return payload
    until = variant.get("window_until")
    if until and now is not None and now >= datetime.fromisoformat(until):
        later = variant.get("template_after")
        if not later:
            return None
        variant = later
    return {**payload, **variant}


def _template_ref(spec: dict[str, Any]) -> TemplateRef:
    """The provider template of a payload; extra keys (e.g. ``approved``) are not the provider's."""
    return TemplateRef(
        name=spec["name"],
        language=spec.get("language", "fr"),
        parameters=tuple(spec.get("parameters", ())),
        content_sid=spec.get("content_sid"),
    )


def _subject_of(payload: dict[str, Any]) -> str:
    """A subject for an email that has none (a reply or fallback from SMS): its first line."""
    line = " ".join(((payload.get("text") or "").strip().splitlines() or [""])[0].split())
    if len(line) > EMAIL_SUBJECT_MAX:
        line = line[: EMAIL_SUBJECT_MAX - 1].rstrip() + "…"
    return line or "…"


def inline_attachment(filename: str, content_type: str, content: bytes) -> dict[str, Any]:
    """A generated file carried in the payload itself (an appointment's ``.ics``)."""
    encoded = base64.b64encode(content).decode("ascii")
    return {"filename": filename, "content_type": content_type, "content_b64": encoded}


def _load(spec: dict[str, Any]) -> Attachment:
    content = Path(spec["path"]).read_bytes() if spec.get("path") else None
    if spec.get("content_b64"):
        content = base64.b64decode(spec["content_b64"])
    return Attachment(
        filename=spec["filename"],
        content_type=spec["content_type"],
        url=spec.get("url"),
        content=content,
    )
