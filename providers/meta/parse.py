"""Reading WhatsApp Cloud API webhooks (``whatsapp_business_account`` objects)."""

from __future__ import annotations

from typing import Any

from core.channels.adapter import (
    Attachment,
    InboundMessage,
    Location,
    NormalizedEvent,
    StatusUpdate,
)
from core.domain.enums import Channel, MessageStatus, Provider
from providers._common import from_unix, validated
from providers.meta.payload import Choice, MediaPart, Message, Payload, Status

STATUSES = {
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
    "played": MessageStatus.READ,
    "failed": MessageStatus.FAILED,
}
MEDIA_TYPES = ("image", "document", "audio", "video", "sticker")


def read_payload(data: Any) -> Payload:
    """A webhook body as a ``Payload``.

    Raises:
        MalformedWebhook: naming the first field at fault.
    """
    return validated(Payload, data)


def parse_payload(payload: Payload) -> list[NormalizedEvent]:
    """Every inbound message and status of a webhook body; other fields are ignored."""
    events: list[NormalizedEvent] = []
    for value in payload.values():
        names = {c.wa_id: c.profile.name if c.profile else None for c in value.contacts}
        recipient = value.metadata.display_phone_number if value.metadata else None
        events.extend(_message(m, names, recipient) for m in value.messages)
        events.extend(_status(s) for s in value.statuses)
    return events


def dedupe_keys(payload: Payload) -> list[str]:
    """``meta:<wamid>:<status>`` per status, ``meta:<wamid>:message`` per message."""
    keys: list[str] = []
    for value in payload.values():
        keys.extend(f"meta:{m.id}:message" for m in value.messages)
        keys.extend(f"meta:{s.id}:{s.status}" for s in value.statuses)
    return keys


def _message(
    message: Message, names: dict[str | None, str | None], recipient: str | None
) -> InboundMessage:
    kind = message.type
    text, payload, attachments, location = "", None, [], None
    media = message.media()
    if kind == "text":
        text = message.text.body if message.text else ""
    elif kind in MEDIA_TYPES:
        media = media or MediaPart()
        text = media.caption or ""
        attachments.append(
            Attachment(
                filename=media.filename or media.id or kind,
                content_type=media.mime_type or "application/octet-stream",
                url=media.url,
            )
        )
    elif kind == "location" and message.location is not None:
        place = message.location
        location = Location(
            latitude=place.latitude,
            longitude=place.longitude,
            name=place.name,
            address=place.address,
        )
    elif kind == "interactive" and message.interactive is not None:
        chosen = message.interactive.button_reply or message.interactive.list_reply or Choice()
        text, payload = chosen.title, chosen.id
    elif kind == "button" and message.button is not None:
        text, payload = message.button.text, message.button.payload
    elif kind == "reaction" and message.reaction is not None:
        text = message.reaction.emoji
    return InboundMessage(
        provider=Provider.META,
        channel=Channel.WHATSAPP,
        provider_message_id=message.id,
        sender="+" + message.sender.lstrip("+"),
        recipient=recipient,
        text=text,
        attachments=tuple(attachments),
        location=location,
        sender_name=names.get(message.sender),
        occurred_at=from_unix(message.timestamp),
        in_reply_to=message.context.id if message.context else None,
        button_payload=payload,
        extra={"type": kind, **({"media_id": media.id} if media is not None else {})},
    )


def _status(status: Status) -> StatusUpdate:
    first = status.errors[0] if status.errors and isinstance(status.errors[0], dict) else {}
    return StatusUpdate(
        provider=Provider.META,
        channel=Channel.WHATSAPP,
        provider_message_id=status.id,
        status=STATUSES.get(status.status, MessageStatus.UNKNOWN),
        occurred_at=from_unix(status.timestamp),
        error_code=str(first["code"]) if first.get("code") is not None else None,
        error_message=first.get("title") or first.get("message"),
        reference=status.biz_opaque_callback_data,
    )
