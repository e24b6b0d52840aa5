"""Pydantic models of the domain: what the service facade returns and accepts.

They are deliberately apart from the ORM rows (``core.storage.tables``); converters live in
``core.storage.convert``. Screens only ever see these.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.domain.contact import normalize_chat_id, normalize_email, normalize_phone
from core.domain.enums import (
    AppointmentStatus,
    ApprovalStatus,
    Channel,
    ConversationStatus,
    Direction,
    MessageKind,
    MessageStatus,
    Priority,
    Provider,
    SenderType,
    TemplateCategory,
)

T = TypeVar("T")


class DomainModel(BaseModel):
    """Base: immutable, built from attributes, unknown fields refused."""

    model_config = ConfigDict(frozen=True, from_attributes=True, extra="forbid", defer_build=True)


class Tenant(DomainModel):
    """A company using the inbox."""

    id: int
    name: str
    slug: str


class Agent(DomainModel):
    """A person of the company who answers conversations."""

    id: int
    tenant_id: int
    name: str
    email: str | None = None
    active: bool = True


class ProspectDraft(BaseModel):
    """What is needed to create or update a prospect; contact details are validated here."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    display_name: str = Field(min_length=1, max_length=200)
    phone: str | None = None
    email: str | None = None
    whatsapp: str | None = None
    telegram_chat_id: int | None = None
    preferred_channel: Channel | None = None
    opted_out_channels: list[Channel] = Field(default_factory=list)
    timezone: str | None = None
    language: str | None = None

    @field_validator("phone", "whatsapp")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normalize_phone(value) if value else None

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return normalize_email(value) if value else None

    @field_validator("telegram_chat_id", mode="before")
    @classmethod
    def _chat(cls, value: Any) -> int | None:
        return normalize_chat_id(value) if value not in (None, "") else None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}; expected e.g. Europe/Paris") from exc
        return value


class Prospect(DomainModel):
    """A prospect or client, with an identifier per channel."""

    id: int
    tenant_id: int
    display_name: str
    phone: str | None = None
    email: str | None = None
    whatsapp: str | None = None
    telegram_chat_id: int | None = None
    preferred_channel: Channel | None = None
    opted_out_channels: tuple[Channel, ...] = ()
    timezone: str | None = None
    language: str | None = None
    merged_into_id: int | None = None
    created_at: datetime

    def identifier(self, channel: Channel) -> str | None:
        """The address to reach this prospect on ``channel``, or None."""
        match channel:
            case Channel.SMS | Channel.VOICE:
                return self.phone
            case Channel.WHATSAPP:
                return self.whatsapp or self.phone
            case Channel.EMAIL:
                return self.email
            case Channel.TELEGRAM:
                return str(self.telegram_chat_id) if self.telegram_chat_id is not None else None

    def reachable_channels(self) -> list[Channel]:
        """Channels with contact details and no opt-out."""
        return [c for c in Channel if self.identifier(c) and c not in self.opted_out_channels]


class ConversationSummary(DomainModel):
    """One row of the inbox list: everything it shows, read from the conversation row alone."""

    id: int
    prospect_id: int
    prospect_name: str
    channel: Channel
    status: ConversationStatus
    priority: Priority
    assignee_id: int | None = None
    assignee_name: str | None = None
    labels: tuple[str, ...] = ()
    subject: str | None = None
    last_message_at: datetime | None = None
    last_message_preview: str = ""
    #: In search results: the matching message around its match (why the conversation matched).
    match_snippet: str | None = None
    last_message_direction: Direction | None = None
    unread_count: int = 0
    waiting_since: datetime | None = None
    snoozed_until: datetime | None = None
    message_count: int = 0
    #: A reply is being written (a draft is kept for this conversation).
    has_draft: bool = False


class Draft(DomainModel):
    """The reply being written in a conversation, kept until sent or discarded."""

    conversation_id: int
    text: str = ""
    subject: str | None = None
    updated_at: datetime | None = None


class Conversation(ConversationSummary):
    """A conversation with its links to the conversations it was switched from and to."""

    channel_identifier: str | None = None
    switched_from_id: int | None = None
    switched_to_ids: tuple[int, ...] = ()
    context: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    closed_at: datetime | None = None


class Message(DomainModel):
    """One item of a thread: a message, a private note, a call or an event."""

    id: int
    conversation_id: int
    prospect_id: int
    channel: Channel
    direction: Direction
    kind: MessageKind = MessageKind.MESSAGE
    sender_type: SenderType
    sender_id: int | None = None
    #: The agent's name when an agent wrote it (filled in threads), else None.
    sender_name: str | None = None
    content: str = ""
    subject: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    status: MessageStatus
    provider: Provider | None = None
    provider_message_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    segments: int | None = None
    cost: Decimal | None = None
    currency: str | None = None
    created_at: datetime
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None


class Appointment(DomainModel):
    """An appointment (RDV) between a prospect and an agent."""

    id: int
    tenant_id: int
    prospect_id: int
    agent_id: int | None = None
    kind: str = "visit"
    starts_at: datetime
    ends_at: datetime
    location: str | None = None
    status: AppointmentStatus
    notes: str | None = None
    #: When the appointment was confirmed (None while it has not been).
    confirmed_at: datetime | None = None


class Thread(DomainModel):
    """What the conversation screen shows: the conversation, its prospect and the timeline.

    ``messages`` is the prospect's timeline across all of their conversations, oldest first:
    all of it when ``complete``, else its newest part (older messages were not read).
    """

    conversation: Conversation
    prospect: Prospect
    messages: tuple[Message, ...]
    related: tuple[ConversationSummary, ...] = ()
    complete: bool = True
    #: The prospect's appointments, soonest first (the screen's panel shows them).
    appointments: tuple[Appointment, ...] = ()


class MessageTemplate(DomainModel):
    """A reusable message for one channel and language, with ``{{variable}}`` placeholders."""

    id: int
    tenant_id: int
    channel: Channel
    name: str
    language: str = "fr"
    template_type: str | None = None
    subject: str | None = None
    content: str
    html: str | None = None
    variables: tuple[str, ...] = ()
    enabled: bool = True
    whatsapp_name: str | None = None
    whatsapp_category: TemplateCategory | None = None
    approval_status: ApprovalStatus | None = None
    content_sid: str | None = None


class ChannelConfig(DomainModel):
    """A channel as the tenant set it up; credentials are only a keyring reference."""

    id: int
    tenant_id: int
    channel: Channel
    provider: Provider
    enabled: bool
    config: dict[str, Any] = Field(default_factory=dict)
    credentials_ref: str | None = None


class Page(DomainModel, Generic[T]):
    """A page of results and the keyset cursor to ask for the next one (None at the end)."""

    items: tuple[T, ...]
    next_cursor: str | None = None


class TemplateDraft(BaseModel):
    """A template as written in the editor."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    channel: Channel
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    language: str = Field("fr", pattern=r"^[a-z]{2}$")
    template_type: str | None = Field(None, max_length=50)
    subject: str | None = Field(None, max_length=255)
    content: str = Field(min_length=1)
    html: str | None = None
    variables: list[str] = Field(default_factory=list)
    enabled: bool = True
    whatsapp_name: str | None = None
    whatsapp_category: TemplateCategory | None = None
    approval_status: ApprovalStatus | None = None
    content_sid: str | None = None

    def columns(self) -> dict[str, object]:
        """The row's columns."""
        values = self.model_dump()
        values["channel_type"] = values.pop("channel")
        values["template_name"] = values.pop("name")
        return values
