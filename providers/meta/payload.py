"""WhatsApp Cloud API webhooks as typed models: read once, refused in one place when malformed.

Only what the adapter reads is modelled; other fields and other ``changes`` (``field`` other
than ``messages``) are ignored. A missing id or sender, or a part of the wrong shape, fails
validation with its path named (``entry[0].changes[0].value.messages[0].from: …``).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator


def _required(value: Any) -> str:
    """A required identifier: present, not empty; numbers written out."""
    if value is None or value == "" or value == [] or isinstance(value, dict | list | bool):
        raise ValueError("missing required field")
    return str(value)


def _none_when_empty(value: Any) -> Any:
    return value or None


def _list(value: Any) -> Any:
    return value or []


Required = Annotated[str, BeforeValidator(_required)]
Part = BeforeValidator(_none_when_empty)
Many = BeforeValidator(_list)


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)


class TextPart(_Model):
    body: str = ""


class MediaPart(_Model):
    """An image, document, audio, video or sticker."""

    id: str | None = None
    caption: str | None = None
    filename: str | None = None
    mime_type: str | None = None
    url: str | None = None


class LocationPart(_Model):
    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


class Choice(_Model):
    """A tapped button or list row (``id`` is our payload)."""

    id: str | None = None
    title: str = ""


class Interactive(_Model):
    button_reply: Annotated[Choice | None, Part] = None
    list_reply: Annotated[Choice | None, Part] = None


class ButtonPart(_Model):
    """A tapped quick-reply button of a template."""

    text: str = ""
    payload: str | None = None


class Reaction(_Model):
    emoji: str = ""


class Context(_Model):
    id: str | None = None


class Message(_Model):
    """One inbound message."""

    sender: Required = Field(alias="from")
    id: Required
    type: str = "text"
    timestamp: Any = None
    text: Annotated[TextPart | None, Part] = None
    image: Annotated[MediaPart | None, Part] = None
    document: Annotated[MediaPart | None, Part] = None
    audio: Annotated[MediaPart | None, Part] = None
    video: Annotated[MediaPart | None, Part] = None
    sticker: Annotated[MediaPart | None, Part] = None
    location: Annotated[LocationPart | None, Part] = None
    interactive: Annotated[Interactive | None, Part] = None
    button: Annotated[ButtonPart | None, Part] = None
    reaction: Annotated[Reaction | None, Part] = None
    context: Annotated[Context | None, Part] = None

    def media(self) -> MediaPart | None:
        """The media part a media message carries (None for other types)."""
        parts = {
            "image": self.image,
            "document": self.document,
            "audio": self.audio,
            "video": self.video,
            "sticker": self.sticker,
        }
        return parts.get(self.type)


class StatusError(_Model):
    code: Any = None
    title: str | None = None
    message: str | None = None


class Status(_Model):
    """What became of a message we sent."""

    id: Required
    status: Required
    timestamp: Any = None
    errors: Annotated[list[Any], Many] = []
    biz_opaque_callback_data: str | None = None


class Profile(_Model):
    name: str | None = None


class Contact(_Model):
    wa_id: str | None = None
    profile: Annotated[Profile | None, Part] = None


class Metadata(_Model):
    display_phone_number: str | None = None


class Value(_Model):
    """The ``value`` of a ``messages`` change."""

    contacts: Annotated[list[Contact], Many] = []
    metadata: Annotated[Metadata | None, Part] = None
    messages: Annotated[list[Message], Many] = []
    statuses: Annotated[list[Status], Many] = []


class Change(_Model):
    """One change; only ``messages`` changes carry a value we read."""

    field: Any = None
    value: Value | None = None

    @model_validator(mode="before")
    @classmethod
    def _only_messages(cls, data: Any) -> Any:
        if isinstance(data, dict) and not (
            data.get("field") == "messages" and isinstance(data.get("value"), dict)
        ):
            return {"field": data.get("field")}
        return data


class Entry(_Model):
    changes: Annotated[list[Change], Many] = []


class Payload(_Model):
    """A ``whatsapp_business_account`` webhook body."""

    entry: Annotated[list[Entry], Field(min_length=1)]

    def values(self) -> list[Value]:
        """The values of every ``messages`` change, in order."""
        return [c.value for e in self.entry for c in e.changes if c.value is not None]
