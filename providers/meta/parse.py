"""Reading WhatsApp Cloud API webhooks (``whatsapp_business_account`` objects)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from core.channels.adapter import (
    Attachment,
    InboundMessage,
    Location,
    NormalizedEvent,
    StatusUpdate,
)
from core.domain.enums import Channel, MessageStatus, Provider
from providers._common import from_unix, mapping, require

STATUSES = {
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
    "played": MessageStatus.READ,
    "failed": MessageStatus.FAILED,
}
MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")


def _values(payload: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    payload = mapping(payload, "body")
    for i, entry in enumerate(require(payload, "entry")):
        entry = mapping(entry, f"entry[{i}]")
        for j, change in enumerate(entry.get("changes") or []):
            change = mapping(change, f"entry[{i}].changes[{j}]")
            if change.get("field") == "messages" and isinstance(change.get("value"), dict):
                yield f"entry[{i}].changes[{j}].value.", change["value"]


def parse_payload(payload: Any) -> list[NormalizedEvent]:
    """Every inbound message and status of a webhook body; other fields are ignored."""
    events: list[NormalizedEvent] = []
    for where, value in _values(payload):
        names = {
            c.get("wa_id"): (c.get("profile") or {}).get("name")
            for c in value.get("contacts") or []
        }
        recipient = (value.get("metadata") or {}).get("display_phone_number")
        for k, message in enumerate(value.get("messages") or []):
            events.append(
                _message(
                    mapping(message, f"{where}messages[{k}]"),
                    f"{where}messages[{k}].",
                    names,
                    recipient,
                )
            )
        for k, status in enumerate(value.get("statuses") or []):
            events.append(
                _status(mapping(status, f"{where}statuses[{k}]"), f"{where}statuses[{k}].")
            )
    return events


def dedupe_keys(payload: Any) -> list[str]:
    """``meta:<wamid>:<status>`` per status, ``meta:<wamid>:message`` per message."""
    keys = []
    for where, value in _values(payload):
        for k, m in enumerate(value.get("messages") or []):
            keys.append(f"meta:{require(m, 'id', f'{where}messages[{k}].')}:message")
        for k, s in enumerate(value.get("statuses") or []):
            keys.append(f"meta:{require(s, 'id', f'{where}statuses[{k}].')}:{s.get('status')}")
    return keys


def _message(
    message: Mapping[str, Any], where: str, names: dict[Any, Any], recipient: str | None
) -> InboundMessage:
    sender = str(require(message, "from", where))
    wamid = require(message, "id", where)
    kind = message.get("type", "text")
    text, payload, attachments, location = "", None, [], None
    if kind == "text":
        text = (message.get("text") or {}).get("body", "")
    elif kind in MEDIA_TYPES:
        media = message.get(kind) or {}
        text = media.get("caption", "")
        attachments.append(
            Attachment(
                filename=media.get("filename") or f"{media.get('id', kind)}",
                content_type=media.get("mime_type") or "application/octet-stream",
                url=media.get("url"),
            )
        )
    elif kind == "location":
        loc = message.get("location") or {}
        location = Location(
            latitude=float(require(loc, "latitude", where + "location.")),
            longitude=float(require(loc, "longitude", where + "location.")),
            name=loc.get("name"),
            address=loc.get("address"),
        )
    elif kind == "interactive":
        reply = message.get("interactive") or {}
        chosen = reply.get("button_reply") or reply.get("list_reply") or {}
        text, payload = chosen.get("title", ""), chosen.get("id")
    elif kind == "button":
        button = message.get("button") or {}
        text, payload = button.get("text", ""), button.get("payload")
    elif kind == "reaction":
        text = (message.get("reaction") or {}).get("emoji", "")
    context = message.get("context") or {}
    return InboundMessage(
        provider=Provider.META,
        channel=Channel.WHATSAPP,
        provider_message_id=wamid,
        sender="+" + sender.lstrip("+"),
        recipient=recipient,
        text=text,
        attachments=tuple(attachments),
        location=location,
        sender_name=names.get(sender),
        occurred_at=from_unix(message.get("timestamp")),
        in_reply_to=context.get("id"),
        button_payload=payload,
        extra={
            "type": kind,
            **({"media_id": (message.get(kind) or {}).get("id")} if kind in MEDIA_TYPES else {}),
        },
    )


def _status(status: Mapping[str, Any], where: str) -> StatusUpdate:
    wamid = require(status, "id", where)
    value = require(status, "status", where)
    errors = status.get("errors") or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    return StatusUpdate(
        provider=Provider.META,
        channel=Channel.WHATSAPP,
        provider_message_id=wamid,
        status=STATUSES.get(value, MessageStatus.UNKNOWN),
        occurred_at=from_unix(status.get("timestamp")),
        error_code=str(first["code"]) if first.get("code") is not None else None,
        error_message=first.get("title") or first.get("message"),
        reference=status.get("biz_opaque_callback_data"),
    )
