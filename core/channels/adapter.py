"""The adapter interface: one class per provider channel, found by entry point.

An adapter knows one provider's API for one channel: what it can carry (``Capabilities``), how to
send (``send``), how to check and read what the provider posts to our webhooks (``verify``,
``parse``, ``dedupe_keys``) on which paths (``webhooks``), and what else it offers, declared
rather than probed: look-up of a sent message, media download, the latest messages to a
recipient, polling (flags of ``Capabilities``), the subscription challenge (``challenge`` routes).
The base class raises ``NotSupported`` for what an adapter does not offer. Adapters raise only the
errors of ``core.channels.errors``.

Adapters are registered under the entry-point group ``coccinelle.providers`` with the name given by
their ``name`` class attribute (``twilio_sms``, ``twilio_whatsapp``, ``meta_whatsapp``,
``sendgrid``, ``telegram``, ``vapi``); ``core.channels.registry`` loads them lazily.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal

from core.channels.errors import NotSupported
from core.domain.enums import Channel, MessageStatus, Provider

# --------------------------------------------------------------------------------------------
# What an adapter can do


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel carries through this provider, and what it costs.

    ``cost_per_unit`` is in EUR per ``cost_unit`` (segment, message, minute); prices here are the
    seed's and can be overridden in the tenant's price table.
    """

    max_length: int | None
    media: bool = False
    documents: bool = False
    location: bool = False
    templates: bool = False
    read_receipts: bool = False
    html: bool = False
    buttons: bool = False
    cost_per_unit: Decimal = Decimal("0")
    cost_unit: Literal["segment", "message", "minute", "free"] = "message"
    typical_delivery_seconds: float = 30.0
    rate_per_second: float = 1.0
    rate_per_recipient_per_second: float | None = None
    #: ``lookup`` finds a sent message again by our reference.
    lookup: bool = False
    #: ``download_media`` fetches the media of received messages.
    media_download: bool = False
    #: ``recent`` lists the latest messages sent to a recipient (reconciling the outbox).
    recent: bool = False
    #: ``poll`` fetches inbound events without a public URL (Telegram's ``getUpdates``);
    #: ``poll_interval`` is the pause between two polls (0 for a long poll).
    polling: bool = False
    poll_interval: float = 0.0


@dataclass(frozen=True, slots=True)
class WebhookRoute:
    """One path of the relay's fixed webhook contract, declared by the adapter that reads it.

    ``name`` is what ``inbound_events.endpoint`` records. ``channels`` lists the channels the
    path may carry (more than one when the adapter reads the channel from the request, see
    ``ChannelAdapter.route_channel``); ``email`` paths get the larger body limit; ``reply`` and
    ``reply_type`` are the answer the provider expects once the event is stored; ``challenge``
    paths also answer the provider's GET subscription check (``answer_challenge``).
    """

    name: str
    path: str
    channels: tuple[Channel, ...]
    email: bool = False
    reply: str = "ok"
    reply_type: str = "text/plain"
    challenge: bool = False

    @property
    def channel(self) -> Channel:
        """The channel the path carries unless the request says otherwise."""
        return self.channels[0]


@dataclass(frozen=True, slots=True)
class PolledEvent:
    """One event fetched by ``ChannelAdapter.poll``, stored exactly as a webhook body would be.

    ``cursor`` is where the next poll starts once this event is committed (None: unchanged).
    """

    endpoint: str
    body: bytes
    content_type: str
    cursor: str | None = None


# --------------------------------------------------------------------------------------------
# Outgoing


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file to send: by public URL (``url``) or by content (``content``)."""

    filename: str
    content_type: str
    url: str | None = None
    content: bytes | None = None
    caption: str | None = None


@dataclass(frozen=True, slots=True)
class Location:
    """A place to share (the agency, a property)."""

    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class TemplateRef:
    """An approved provider template: Meta name + language, or Twilio ``ContentSid``.

    ``parameters`` are positional ({{1}}, {{2}}…) already mapped from named variables.
    """

    name: str
    language: str = "fr"
    parameters: tuple[str, ...] = ()
    content_sid: str | None = None


@dataclass(frozen=True, slots=True)
class Button:
    """A quick-reply button (WhatsApp interactive, Telegram inline keyboard)."""

    id: str
    title: str


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message to send, already rendered.

    ``to`` is the channel identifier (E.164, email address, chat id). ``reference`` is our own id
    for the send (the outbox idempotency key); adapters pass it to the provider where it can be
    echoed back (SendGrid ``custom_args``, …) so events can be matched. ``callback_query_id``
    (Telegram) acknowledges the button tap this message answers, with ``callback_text`` as the
    short notice; with no text to send, acknowledging is the whole message.
    """

    channel: Channel
    to: str
    text: str = ""
    subject: str | None = None
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    location: Location | None = None
    template: TemplateRef | None = None
    buttons: tuple[Button, ...] = ()
    reference: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    reply_to: str | None = None
    sender_name: str | None = None
    callback_query_id: str | None = None
    callback_text: str | None = None


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the provider said when it accepted a message."""

    provider_message_id: str
    status: MessageStatus = MessageStatus.SENT
    segments: int | None = None
    cost: Decimal | None = None
    currency: str = "EUR"
    raw: Mapping[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Incoming


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """A request a provider made to the relay, as received.

    ``url`` is the public URL the provider used (signatures are computed over it). Header names
    are lower-cased.
    """

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)
    path_params: Mapping[str, str] = field(default_factory=dict)
    #: What adapters parsed from the body, kept so that verify, parse and dedupe_keys read
    #: it once per request (keyed by the adapter's helper, e.g. ``"form"``).
    parsed: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def header(self, name: str, default: str = "") -> str:
        """A header by case-insensitive name."""
        return self.headers.get(name.lower(), default)


#: E-mail headers that mark an automatic message (RFC 3834 and the usual others): an e-mail
#: adapter keeps those present, lower-cased, in ``InboundMessage.extra["auto_headers"]`` so the
#: core never answers an auto-responder (``core.automation.detect``).
AUTO_HEADERS = (
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "list-id",
)


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A prospect wrote, sent media, shared a place, tapped a button."""

    provider: Provider
    channel: Channel
    provider_message_id: str
    sender: str
    recipient: str | None = None
    text: str = ""
    subject: str | None = None
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    location: Location | None = None
    sender_name: str | None = None
    occurred_at: datetime | None = None
    in_reply_to: str | None = None
    button_payload: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A provider reports what became of a message we sent.

    ``provider_message_id`` may be a prefix match for SendGrid (see ``prefix_match``).
    """

    provider: Provider
    channel: Channel
    provider_message_id: str
    status: MessageStatus
    occurred_at: datetime | None = None
    error_code: str | None = None
    error_message: str | None = None
    cost: Decimal | None = None
    reference: str | None = None
    prefix_match: bool = False


@dataclass(frozen=True, slots=True)
class EngagementEvent:
    """An email was opened or a link clicked, or the recipient unsubscribed / reported spam."""

    provider: Provider
    channel: Channel
    provider_message_id: str
    kind: Literal["open", "click", "unsubscribe", "spamreport"]
    occurred_at: datetime | None = None
    url: str | None = None
    reference: str | None = None
    prefix_match: bool = False


@dataclass(frozen=True, slots=True)
class CallReport:
    """A voice call's state or its end-of-call report."""

    provider: Provider
    provider_call_id: str
    phone: str | None
    status: str
    direction: Literal["inbound", "outbound"] = "inbound"
    started_at: datetime | None = None
    ended_at: datetime | None = None
    duration_seconds: float | None = None
    ended_reason: str | None = None
    transcript: str | None = None
    summary: str | None = None
    recording_url: str | None = None
    cost: Decimal | None = None
    final: bool = False


NormalizedEvent = InboundMessage | StatusUpdate | EngagementEvent | CallReport


# --------------------------------------------------------------------------------------------
# The adapter


@dataclass(frozen=True, slots=True)
class AdapterConfig:
    """What an adapter is built with.

    ``credentials`` come from the keyring (never the database); ``options`` from the channel's
    configuration (sender number, from address, phone-number id…); ``base_url`` points the SDK at
    the real API or at the sandbox; ``callback_url`` is the relay's public base URL.
    ``credentials`` are left out of ``repr`` so that a logged or printed config shows no secret.
    """

    base_url: str
    credentials: Mapping[str, str] = field(repr=False)
    options: Mapping[str, Any] = field(default_factory=dict)
    callback_url: str | None = None
    timeout: float = 15.0


class ChannelAdapter(ABC):
    """One provider for one channel."""

    name: ClassVar[str]
    provider: ClassVar[Provider]
    channel: ClassVar[Channel]
    capabilities: ClassVar[Capabilities]
    #: Credential names the adapter needs from the keyring, e.g. ("account_sid", "auth_token").
    credential_names: ClassVar[tuple[str, ...]] = ()
    #: The relay's webhook paths this adapter reads (a provider's adapters may share them: the
    #: relay serves each name once).
    webhooks: ClassVar[tuple[WebhookRoute, ...]] = ()
    #: Request headers carrying this provider's secrets or signatures: checked, never stored.
    secret_headers: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, config: AdapterConfig) -> None:
        self.config = config

    @abstractmethod
    async def send(self, message: OutgoingMessage) -> SendResult:
        """Hand ``message`` to the provider.

        Raises:
            PermanentProviderError: retrying will not help.
            TransientProviderError: retrying later may (``retry_after`` when the provider said).
        """

    @abstractmethod
    def verify(self, request: WebhookRequest) -> None:
        """Check that ``request`` really comes from the provider.

        Raises:
            SignatureError: it does not.
        """

    @abstractmethod
    def parse(self, request: WebhookRequest) -> list[NormalizedEvent]:
        """Read a verified webhook into normalized events (unknown fields are ignored).

        Raises:
            MalformedWebhook: a required field is missing or the body cannot be read.
        """

    @abstractmethod
    def dedupe_keys(self, request: WebhookRequest) -> list[str]:
        """Keys identifying the events of ``request``, the same when the provider retries it.

        The relay stores a request once per key set (MessageSid + status, sg_event_id, update_id…).
        """

    # ------------------------------------------------------------------ optional capabilities
    # Each raises ``NotSupported`` unless the adapter says it offers it (see ``Capabilities``
    # and ``webhooks``): the core asks the declaration, never probes for a method.

    @classmethod
    def route_channel(cls, route: WebhookRoute, request: WebhookRequest) -> Channel:
        """The channel ``request`` to ``route`` carries (default: the route's first one).

        Raises:
            MalformedWebhook: the body cannot be read to tell.
        """
        return route.channel

    def owns_route(self, path_params: Mapping[str, str]) -> bool:
        """Whether a request whose path carried ``path_params`` is for this adapter (default:
        yes; Telegram checks the bot id in the path)."""
        return True

    def answer_challenge(self, query: Mapping[str, str]) -> str:
        """The text answering the provider's GET subscription check of a ``challenge`` route.

        Raises:
            SignatureError: the check does not carry our verify token (answer 403).
            NotSupported: the provider makes no such check.
        """
        raise self._not_supported("answer_challenge")

    async def lookup(self, reference: str) -> SendResult | None:
        """Find a message we may have sent under ``reference`` (for crash reconciliation);
        ``capabilities.lookup`` says whether the provider can (default: None, not found)."""
        return None

    async def recent(self, to: str, limit: int = 20) -> list[SendResult]:
        """The latest messages sent to ``to``, newest first (``capabilities.recent``); each
        ``raw`` carries ``body`` and ``date_created``.

        Raises:
            NotSupported: the provider has no such listing.
            ProviderError: the provider could not be asked.
        """
        raise self._not_supported("recent")

    async def poll(self, cursor: str | None, wait: float) -> list[PolledEvent]:
        """Inbound events after ``cursor``, waiting up to ``wait`` seconds for some
        (``capabilities.polling``).

        Raises:
            NotSupported: the provider cannot be polled.
            ProviderError: the provider could not be asked.
        """
        raise self._not_supported("poll")

    def _not_supported(self, what: str) -> NotSupported:
        return NotSupported(f"{self.name} does not offer {what}", provider=str(self.provider))

    async def download_media(self, reference: str) -> tuple[bytes, str]:
        """The content and content type of a media a prospect sent.

        ``reference`` is what the inbound event carries: the attachment's ``url`` (Twilio), or
        ``extra["media_id"]`` (Meta) / ``extra["file_ids"][i]`` (Telegram). Adapters that can
        say ``capabilities.media_download``.

        Raises:
            NotSupported: this provider cannot.
            PermanentProviderError: the reference is not its own.
            TransientProviderError: the download failed and may work later.
        """
        raise self._not_supported("download_media")

    async def check_connection(self) -> None:
        """Make one cheap authenticated call ("test connection" in settings).

        Raises:
            ProviderError: the credentials or the endpoint do not work.
        """

    async def close(self) -> None:
        """Release network resources."""

    async def set_webhook(self, url: str, secret: str | None = None) -> None:
        """Have the provider post its webhooks to ``url`` (Telegram: ``setWebhook``).

        Raises:
            PermanentProviderError: this provider's webhooks are set in its console, not by us.
        """
        from core.channels.errors import PermanentProviderError

        raise PermanentProviderError(
            f"{self.name} cannot set its webhook", provider=str(self.provider), code="webhook"
        )
