"""The closed vocabularies of the domain.

Every enum is a ``StrEnum`` so that values travel unchanged through JSON, the database and the
command line; an unknown value is refused by pydantic at the model layer.
"""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """A way to reach a prospect."""

    VOICE = "voice"
    SMS = "sms"
    EMAIL = "email"
    WHATSAPP = "whatsapp"
    TELEGRAM = "telegram"


class Provider(StrEnum):
    """A company whose API carries a channel."""

    VAPI = "vapi"
    TWILIO = "twilio"
    SENDGRID = "sendgrid"
    META = "meta"
    TELEGRAM = "telegram"


DEFAULT_PROVIDER: dict[Channel, Provider] = {
    Channel.VOICE: Provider.VAPI,
    Channel.SMS: Provider.TWILIO,
    Channel.EMAIL: Provider.SENDGRID,
    Channel.WHATSAPP: Provider.TWILIO,
    Channel.TELEGRAM: Provider.TELEGRAM,
}


class ConversationStatus(StrEnum):
    """Where a conversation stands in the agents' triage."""

    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    CLOSED = "closed"


class Priority(StrEnum):
    """How soon a conversation needs an agent. ``rank`` orders them, most urgent first."""

    URGENT = "urgent"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for urgent up to 3 for low; what the database stores and sorts on."""
        return _PRIORITY_ORDER.index(self)

    @classmethod
    def from_rank(cls, rank: int) -> Priority:
        """The priority stored as ``rank``."""
        return _PRIORITY_ORDER[rank]


_PRIORITY_ORDER = (Priority.URGENT, Priority.HIGH, Priority.MEDIUM, Priority.LOW)


class Direction(StrEnum):
    """Whether a message came from the prospect or went to them."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class SenderType(StrEnum):
    """Who wrote a message: the prospect, the automatic assistant (Sara) or a human agent."""

    PROSPECT = "prospect"
    SARA = "sara"
    AGENT = "agent"


class MessageKind(StrEnum):
    """What a thread item is."""

    MESSAGE = "message"
    NOTE = "note"
    CALL = "call"
    EVENT = "event"


class MessageStatus(StrEnum):
    """The delivery state of a message; see ``STATUS_RANK`` for the order updates may take."""

    SCHEDULED = "scheduled"
    HELD = "held"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    UNDELIVERED = "undelivered"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    RECEIVED = "received"


#: Statuses only move forward: an update whose rank is lower than the current one is ignored
#: (a late "sent" never overwrites "delivered"). Failures rank above sent/delivered because a
#: provider may report a failure after having said "sent", but "read" outranks them all: a
#: message the prospect read was delivered whatever came before.
STATUS_RANK: dict[MessageStatus, int] = {
    MessageStatus.SCHEDULED: 0,
    MessageStatus.HELD: 0,
    MessageStatus.QUEUED: 1,
    MessageStatus.SENDING: 2,
    MessageStatus.UNKNOWN: 3,
    MessageStatus.SENT: 4,
    MessageStatus.DELIVERED: 5,
    MessageStatus.UNDELIVERED: 6,
    MessageStatus.FAILED: 6,
    MessageStatus.EXPIRED: 6,
    MessageStatus.CANCELLED: 6,
    MessageStatus.READ: 7,
    MessageStatus.RECEIVED: 7,
}


class AppointmentStatus(StrEnum):
    """The life of an appointment (RDV)."""

    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    DONE = "done"
    NO_SHOW = "no_show"


class OutboxStatus(StrEnum):
    """The state of one outgoing send in the durable outbox."""

    PENDING = "pending"
    HELD = "held"
    #: Held by the automation policy (``core.automation``): never sent until an agent releases it.
    PAUSED = "paused"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


OUTBOX_TERMINAL = frozenset(
    {
        OutboxStatus.SENT,
        OutboxStatus.FAILED,
        OutboxStatus.UNKNOWN,
        OutboxStatus.EXPIRED,
        OutboxStatus.CANCELLED,
    }
)


class InboundEventStatus(StrEnum):
    """Where a raw provider event stands in ingest."""

    PENDING = "pending"
    PROCESSED = "processed"
    #: Before revision 0006: failed once, never retried (the migration parks them).
    FAILED = "failed"
    #: Failed every attempt (or its input can never apply): waits for an operator's retry.
    PARKED = "parked"


class MessageType(StrEnum):
    """What an outgoing message is for; one of the orchestrator's criteria."""

    APPOINTMENT = "appointment"
    MARKETING = "marketing"
    NOTIFICATION = "notification"
    SURVEY = "survey"
    CONVERSATION = "conversation"


class Urgency(StrEnum):
    """How urgent an outgoing message is (the seed's ``priority.level``)."""

    URGENT = "urgent"
    NORMAL = "normal"
    LOW = "low"


class TemplateCategory(StrEnum):
    """Meta's WhatsApp template categories."""

    MARKETING = "MARKETING"
    UTILITY = "UTILITY"
    AUTHENTICATION = "AUTHENTICATION"


class ApprovalStatus(StrEnum):
    """The approval state of a WhatsApp template at Meta."""

    DRAFT = "draft"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class CampaignStatus(StrEnum):
    """The life of a multi-step campaign."""

    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    FINISHED = "finished"


class EnrolmentStatus(StrEnum):
    """A prospect's place in a campaign."""

    ACTIVE = "active"
    COMPLETED = "completed"
    LEFT = "left"


class BulkAction(StrEnum):
    """What can be done to a tagged set."""

    ASSIGN = "assign"
    LABEL = "label"
    SNOOZE = "snooze"
    CLOSE = "close"
    PRIORITY = "priority"
