"""What the program wants to send to a prospect: one request object for every kind of message.

A request says who (tenant, prospect, conversation), what (a draft, or a rendering per channel,
and the approved WhatsApp template for outside the 24 h window), why (``kind``, ``origin``), when
(``due_at``, ``expires_at``), how urgent (``priority``), and how the channel is chosen (forced,
restricted, or the prospect's own channel first). ``core.pipeline.submit`` turns a batch of them
into decisions and outbox rows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.decision import ReplyDraft
from core.domain.enums import Channel, MessageKind, SenderType, Urgency
from core.orchestrator.context import RoutingContext

#: Renders the message for one channel (``session``, ``channel``); raising leaves it out.
Renderer = Callable[[AsyncSession, Channel], Awaitable["Rendering"]]


class Kind(StrEnum):
    """Why a message is sent (stored as the outbox row's ``purpose`` unless one is given)."""

    REPLY = "reply"
    UNIFIED = "unified"
    RESEND = "resend"
    CALL = "call"
    SWITCH_TRANSITION = "switch_transition"
    BOOKING_CONFIRMATION = "booking_confirmation"
    BOOKING_PROPOSAL = "booking_proposal"
    BOOKING_CHANGE = "booking_change"
    BOOKING_REBOOK = "booking_rebook"
    REMINDER = "reminder"
    SURVEY = "survey"
    SARA_ANSWER = "sara_answer"
    SARA_ACK = "sara_ack"
    OUT_OF_HOURS = "out_of_hours"
    CAMPAIGN_STEP = "campaign_step"
    ABTEST = "abtest"
    BROADCAST = "broadcast"
    ROUTE = "route"


#: Kinds that answer the prospect in a conversation: an e-mail of these without a subject of its
#: own goes in the prospect's e-mail thread ("Re: …"); a broadcast or a campaign step does not.
ANSWERS = frozenset(
    {
        Kind.REPLY,
        Kind.UNIFIED,
        Kind.SWITCH_TRANSITION,
        Kind.SARA_ANSWER,
        Kind.SARA_ACK,
        Kind.OUT_OF_HOURS,
    }
)


class Origin(StrEnum):
    """Who wants it sent: an agent, an automation (Sara, reminders, notices), a campaign."""

    AGENT = "agent"
    AUTOMATION = "automation"
    CAMPAIGN = "campaign"


#: Origins the automation policy is asked about.
AUTOMATED = frozenset({Origin.AUTOMATION, Origin.CAMPAIGN})


@dataclass(frozen=True)
class Rendering:
    """The message as one channel carries it.

    ``attachments`` are payload attachment specs (``core.outbox.payload``); ``template`` is the
    provider template reference (WhatsApp only: name, language, parameters, content_sid).
    """

    text: str
    subject: str | None = None
    html: str | None = None
    attachments: tuple[dict[str, Any], ...] = ()
    buttons: tuple[dict[str, str], ...] = ()
    template: dict[str, Any] | None = None
    template_name: str | None = None
    #: The ``Message-ID`` an e-mail answers (it then stays in the prospect's thread).
    in_reply_to: str | None = None

    def payload(self) -> dict[str, Any]:
        """The keys of an outbox payload this rendering sets (a ``variants`` entry)."""
        out: dict[str, Any] = {"text": self.text, "subject": self.subject, "html": self.html}
        if self.in_reply_to:
            out["in_reply_to"] = self.in_reply_to
        if self.attachments:
            out["attachments"] = list(self.attachments)
        if self.buttons:
            out["buttons"] = list(self.buttons)
        if self.template_name:
            out["template_name"] = self.template_name
        return out


@dataclass
class OutgoingRequest:
    """One message to one prospect, before any channel is chosen.

    Content comes from ``draft`` (rendered once, the same on every channel; its ``template_id``
    is the tenant's template), ``renderings`` (a channel's own content) and/or ``renderer``
    (called for each candidate channel ``draft`` and ``renderings`` do not cover; a failure
    leaves that channel out, with the reason in the decision). ``whatsapp_template`` is the
    approved WhatsApp template (its text as the prospect reads it, and the reference with its
    parameters): without it, WhatsApp is left out when the 24 h window is closed at the due
    time, and it is what a WhatsApp fallback sends once the window has closed.

    Channel choice: ``channel`` forces one (the decision says whether it can be used);
    ``first_choice`` is tried first and the orchestrator chooses when it cannot be used;
    ``allowed`` restricts the candidates; ``preferred`` counts as the prospect's preference.
    ``direct`` (Sara's answer in the conversation the prospect just wrote in) skips the channel
    decision: the message goes on ``conversation_id``'s channel, now.

    ``intent`` and ``about`` are what the automation policy answers once per window (default:
    ``kind``); ``answers_message_id`` the inbound message an answer replies to.
    ``priority`` None takes ``ORCHESTRATOR_DEFAULT_PRIORITY`` unless the draft states one.
    ``due_at`` None is now; every time (hold, fallback times) is computed from it.
    ``on_refused``: "skip" (the outcome says why), "raise" (``InvalidInput``), or "record" (a
    failed outbox row with the reasons, for a broadcast's progress).
    """

    tenant_id: int
    prospect_id: int
    kind: Kind
    origin: Origin = Origin.AGENT
    draft: ReplyDraft | None = None
    renderings: dict[Channel, Rendering] = field(default_factory=dict)
    whatsapp_template: Rendering | None = None
    renderer: Renderer | None = None
    conversation_id: int | None = None
    priority: Urgency | None = None
    due_at: datetime | None = None
    expires_at: datetime | None = None
    channel: Channel | None = None
    first_choice: Channel | None = None
    allowed: frozenset[Channel] | None = None
    preferred: Channel | None = None
    weigh_each_rendering: bool = False
    direct: bool = False
    key: str | None = None
    intent: str | None = None
    about: str | None = None
    answers_message_id: int | None = None
    purpose: str | None = None
    sender_type: SenderType | None = None
    sender_id: int | None = None
    message_kind: MessageKind = MessageKind.MESSAGE
    appointment_id: int | None = None
    broadcast_id: str | None = None
    campaign_enrolment_id: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    context: RoutingContext | None = None
    on_refused: str = "skip"
    check_length: bool = False
    no_alternatives: bool = False
    provider_for: Any = None

    @property
    def automated(self) -> bool:
        """Whether the automation policy has a say (Sara, reminders, notices, campaigns)."""
        return self.origin in AUTOMATED

    def tag(self) -> dict[str, str]:
        """What the message's metadata records of the request (``meta["pipeline"]``)."""
        return {"kind": str(self.kind), "origin": str(self.origin)}

    @property
    def row_purpose(self) -> str:
        """The outbox row's ``purpose``."""
        return self.purpose or str(self.kind)

    @property
    def sender(self) -> SenderType:
        """Who the thread shows as the sender."""
        if self.sender_type is not None:
            return self.sender_type
        return SenderType.AGENT if self.origin == Origin.AGENT else SenderType.SARA
