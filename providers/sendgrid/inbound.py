"""Inbound Parse: SendGrid's multipart POST of a received email, decoded by declared charset."""

from __future__ import annotations

import json
from email import message_from_bytes
from email.message import Message
from email.utils import parseaddr
from typing import Any

from core.channels.adapter import AUTO_HEADERS, Attachment, InboundMessage, WebhookRequest
from core.channels.errors import MalformedWebhook
from core.channels.multipart import form_parts
from core.domain.enums import Channel, Provider

TEXT_FIELDS = ("from", "to", "cc", "subject", "text", "html", "headers", "envelope", "charsets")
#: Where the parsed message is kept on ``WebhookRequest.parsed`` (parse and dedupe_keys share it).
INBOUND_KEY = "sendgrid_inbound"


def _decode(raw: bytes, charset: str | None) -> str:
    try:
        return raw.decode(charset or "utf-8")
    except (LookupError, UnicodeDecodeError):
        return raw.decode("utf-8", errors="replace")


def parse_inbound(request: WebhookRequest) -> InboundMessage:
    """An ``InboundMessage`` from an Inbound Parse POST, built once per request.

    The form is parsed once (``form_parts``) and the message kept on ``request.parsed``.
    """
    cached = request.parsed.get(INBOUND_KEY)
    if cached is None:
        cached = _parse_inbound(request)
        request.parsed[INBOUND_KEY] = cached
    return cached


def _parse_inbound(request: WebhookRequest) -> InboundMessage:
    """An ``InboundMessage`` from an Inbound Parse POST (default, not raw, mode).

    Text fields are decoded from their raw bytes with the charset SendGrid declares for them in
    ``charsets``; a part's own ``charset`` parameter wins over it.
    """
    fields: dict[str, bytes] = {}
    declared: dict[str, str | None] = {}
    files: dict[str, tuple[str, str, bytes]] = {}
    for part in form_parts(request):
        if part.filename is not None:
            files[part.name] = (part.filename, part.content_type, part.data)
        else:
            fields[part.name] = part.data
            declared[part.name] = part.charset
    charsets: dict[str, Any] = {}
    if "charsets" in fields:
        try:
            charsets = json.loads(fields["charsets"])
        except ValueError:
            raise MalformedWebhook("charsets: not valid JSON") from None

    def text(name: str) -> str | None:
        if name not in fields:
            return None
        return _decode(fields[name], declared.get(name) or charsets.get(name))

    if "email" in fields and "text" not in fields:  # "POST the raw, full MIME message" mode
        return parse_raw(fields["email"], text("from"))
    sender_field = text("from")
    if not sender_field:
        raise MalformedWebhook("missing required field from")
    sender_name, sender = parseaddr(sender_field)
    envelope: dict[str, Any] = {}
    if text("envelope"):
        try:
            envelope = json.loads(text("envelope") or "{}")
        except ValueError:
            raise MalformedWebhook("envelope: not valid JSON") from None
    headers = message_from_bytes((text("headers") or "").encode("utf-8", "replace"))
    message_id = (headers.get("Message-ID") or "").strip() or None
    if not message_id:
        raise MalformedWebhook("missing required field headers Message-ID")
    recipients = envelope.get("to") or [parseaddr(text("to") or "")[1]]
    info = _attachment_info(text("attachment-info"))
    attachments = tuple(
        Attachment(
            filename=info.get(key, {}).get("filename") or filename,
            content_type=info.get(key, {}).get("type") or kind,
            content=payload,
        )
        for key, (filename, kind, payload) in sorted(files.items())
    )
    references = (headers.get("References") or "").split()
    return InboundMessage(
        provider=Provider.SENDGRID,
        channel=Channel.EMAIL,
        provider_message_id=message_id,
        sender=sender.lower(),
        recipient=recipients[0] if recipients else None,
        text=text("text") or "",
        subject=text("subject"),
        html=text("html"),
        attachments=attachments,
        sender_name=sender_name or None,
        in_reply_to=(headers.get("In-Reply-To") or "").strip() or None,
        extra={
            "message_id": message_id,
            "references": references,
            "envelope_to": recipients,
            "spf": text("SPF"),
            "auto_headers": auto_headers(headers),
        },
    )


def parse_raw(raw: bytes, sender_field: str | None) -> InboundMessage:
    """An ``InboundMessage`` from the whole MIME message (Inbound Parse raw mode)."""
    from email import policy

    message = message_from_bytes(raw, policy=policy.default)
    message_id = str(message.get("Message-ID") or "").strip()
    if not message_id:
        raise MalformedWebhook("missing required field email Message-ID")
    sender_name, sender = parseaddr(str(message.get("From") or sender_field or ""))
    if not sender:
        raise MalformedWebhook("missing required field from")
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    attachments = tuple(
        Attachment(
            filename=part.get_filename() or "attachment",
            content_type=part.get_content_type(),
            content=_attachment_bytes(part),
        )
        for part in message.iter_attachments()
    )
    recipients = [parseaddr(str(message.get("To") or ""))[1]]
    return InboundMessage(
        provider=Provider.SENDGRID,
        channel=Channel.EMAIL,
        provider_message_id=message_id,
        sender=sender.lower(),
        recipient=recipients[0] or None,
        text=plain.get_content() if plain is not None else "",
        subject=str(message.get("Subject") or "") or None,
        html=html.get_content() if html is not None else None,
        attachments=attachments,
        sender_name=sender_name or None,
        in_reply_to=str(message.get("In-Reply-To") or "").strip() or None,
        extra={
            "message_id": message_id,
            "references": str(message.get("References") or "").split(),
            "envelope_to": recipients,
            "auto_headers": auto_headers(message),
        },
    )


def _attachment_bytes(part: Message) -> bytes:
    """An attachment's decoded bytes; an attached e-mail (message/rfc822, which Python parses as
    a container) is the whole message it holds."""
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    inner = part.get_payload()
    if isinstance(inner, list) and inner:
        return b"".join(m.as_bytes() for m in inner if isinstance(m, Message))
    return b""


def auto_headers(message: Message) -> dict[str, str]:
    """The headers that mark an automatic e-mail (``AUTO_HEADERS``, kept so the core can tell
    an auto-reply from a person), those present only."""
    found = {}
    for name in AUTO_HEADERS:
        value = message.get(name)
        if value is not None:
            found[name] = str(value).strip()[:200]
    return found


def _attachment_info(raw: str | None) -> dict[str, dict[str, Any]]:
    if not raw:
        return {}
    try:
        info = json.loads(raw)
    except ValueError:
        raise MalformedWebhook("attachment-info: not valid JSON") from None
    return info if isinstance(info, dict) else {}
