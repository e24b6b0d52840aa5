"""Reading Telegram ``Update`` objects into normalized events."""

from __future__ import annotations

from typing import Any

from core.channels.adapter import Attachment, InboundMessage, Location, NormalizedEvent
from core.domain.enums import Channel, Provider
from providers._common import from_unix, mapping, require

MESSAGE_KEYS = ("message", "edited_message", "channel_post", "business_message")


def parse_update(update: Any, bot_id: str | None) -> list[NormalizedEvent]:
    """The events of one update; kinds we do not handle (chat member changes…) give none."""
    update = mapping(update, "update")
    require(update, "update_id")
    for key in MESSAGE_KEYS:
        if key in update:
            return [
                _message(
                    mapping(update[key], key), f"{key}.", bot_id, edited=key == "edited_message"
                )
            ]
    if "callback_query" in update:
        return [_callback(mapping(update["callback_query"], "callback_query"), bot_id)]
    return []


def _name(user: Any) -> str | None:
    if not isinstance(user, dict):
        return None
    name = " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p)
    return name or user.get("username")


def _message(message: Any, where: str, bot_id: str | None, edited: bool = False) -> InboundMessage:
    chat = mapping(require(message, "chat", where), where + "chat")
    chat_id = require(chat, "id", where + "chat.")
    message_id = require(message, "message_id", where)
    text = message.get("text") or message.get("caption") or ""
    attachments: list[Attachment] = []
    extra: dict[str, Any] = {"chat_type": chat.get("type"), "edited": edited}
    if chat.get("title"):
        extra["chat_title"] = chat["title"]
    sender = mapping(message.get("from") or {}, where + "from")
    if sender.get("id") is not None:
        extra["from_id"] = sender["id"]
    if sender.get("is_bot"):
        extra["from_is_bot"] = True
    if message.get("photo"):
        best = max(message["photo"], key=lambda p: p.get("file_size") or p.get("width", 0))
        attachments.append(
            Attachment(filename=f"{best['file_unique_id']}.jpg", content_type="image/jpeg")
        )
        extra["file_ids"] = [best["file_id"]]
    if isinstance(message.get("document"), dict):
        doc = message["document"]
        attachments.append(
            Attachment(
                filename=doc.get("file_name") or doc.get("file_unique_id", "document"),
                content_type=doc.get("mime_type") or "application/octet-stream",
            )
        )
        extra.setdefault("file_ids", []).append(doc.get("file_id"))
    location = None
    if isinstance(message.get("location"), dict):
        loc = message["location"]
        location = Location(
            latitude=float(require(loc, "latitude", where + "location.")),
            longitude=float(require(loc, "longitude", where + "location.")),
        )
    for entity in message.get("entities") or []:
        if entity.get("type") == "bot_command" and entity.get("offset") == 0:
            command = text[: entity.get("length", 0)]
            extra["command"] = command.split("@", 1)[0]
            break
    return InboundMessage(
        provider=Provider.TELEGRAM,
        channel=Channel.TELEGRAM,
        provider_message_id=f"{chat_id}:{message_id}",
        sender=str(chat_id),
        recipient=bot_id,
        text=text,
        attachments=tuple(attachments),
        location=location,
        sender_name=_name(sender) or chat.get("title"),
        occurred_at=from_unix(message.get("date")),
        in_reply_to=_reply_id(message, chat_id),
        extra=extra,
    )


def _reply_id(message: dict[str, Any], chat_id: Any) -> str | None:
    replied = message.get("reply_to_message")
    if isinstance(replied, dict) and replied.get("message_id") is not None:
        return f"{chat_id}:{replied['message_id']}"
    return None


def _callback(query: Any, bot_id: str | None) -> InboundMessage:
    query_id = require(query, "id", "callback_query.")
    user = mapping(require(query, "from", "callback_query."), "callback_query.from")
    message = query.get("message") or {}
    chat_id = (message.get("chat") or {}).get("id", user.get("id"))
    return InboundMessage(
        provider=Provider.TELEGRAM,
        channel=Channel.TELEGRAM,
        provider_message_id=f"callback:{query_id}",
        sender=str(chat_id),
        recipient=bot_id,
        text=query.get("data") or "",
        sender_name=_name(user),
        in_reply_to=f"{chat_id}:{message['message_id']}" if message.get("message_id") else None,
        button_payload=query.get("data"),
        extra={"callback_query_id": query_id, "from_id": user.get("id")},
    )
