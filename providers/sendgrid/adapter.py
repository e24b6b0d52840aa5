"""Email through SendGrid (the ``sendgrid`` SDK's requests, sent over one kept-alive connection
pool: ``transport``)."""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import time
from decimal import Decimal
from typing import Any, ClassVar

from core.channels.adapter import (
    AdapterConfig,
    Capabilities,
    ChannelAdapter,
    EngagementEvent,
    NormalizedEvent,
    OutgoingMessage,
    SendResult,
    StatusUpdate,
    WebhookRequest,
    WebhookRoute,
)
from core.channels.errors import MalformedWebhook, PermanentProviderError, SignatureError
from core.domain.enums import Channel, MessageStatus, Provider
from providers._common import from_unix, mapping, read_json, require
from providers.sendgrid.errors import PROVIDER, map_error
from providers.sendgrid.inbound import parse_inbound
from providers.sendgrid.transport import Transport

SIGNATURE_HEADER = "x-twilio-email-event-webhook-signature"
TIMESTAMP_HEADER = "x-twilio-email-event-webhook-timestamp"
#: Mail Send, under the API version the SDK adds (``/v3``).
MAIL_SEND = "/mail/send"

DELIVERY_EVENTS: dict[str, MessageStatus] = {
    "processed": MessageStatus.QUEUED,
    "deferred": MessageStatus.SENDING,
    "delivered": MessageStatus.DELIVERED,
    "bounce": MessageStatus.FAILED,
    "blocked": MessageStatus.FAILED,
    "dropped": MessageStatus.FAILED,
}
ENGAGEMENT_EVENTS = {"open", "click", "unsubscribe", "spamreport", "group_unsubscribe"}


class SendGridAdapter(ChannelAdapter):
    """Email through SendGrid Mail Send v3.

    Options: ``from_email``, ``from_name``, ``event_public_key`` (the Event Webhook's base64 DER
    public key, not a secret). Credentials: ``api_key``; ``inbound_secret`` is the password of
    the Basic auth the Inbound Parse URL carries (``https://inbound:<secret>@relay/…``), since
    SendGrid does not sign Inbound Parse posts.

    Our ``reference`` travels in ``custom_args`` and comes back on every event; ``X-Message-Id``
    is the provider id, a prefix of the events' ``sg_message_id``.
    """

    name = "sendgrid"
    provider = Provider.SENDGRID
    channel = Channel.EMAIL
    credential_names: ClassVar[tuple[str, ...]] = ("api_key", "inbound_secret")
    secret_headers: ClassVar[frozenset[str]] = frozenset({SIGNATURE_HEADER.lower()})
    webhooks = (
        WebhookRoute(
            "sendgrid/inbound", "/webhooks/sendgrid/inbound", (Channel.EMAIL,), email=True
        ),
        # Inbound Parse authenticated by a secret in the path instead of Basic auth.
        WebhookRoute(
            "sendgrid/inbound-path",
            "/webhooks/sendgrid/inbound/{secret}",
            (Channel.EMAIL,),
            email=True,
        ),
        WebhookRoute("sendgrid/events", "/webhooks/sendgrid/events", (Channel.EMAIL,)),
    )
    capabilities = Capabilities(
        max_length=None,
        media=True,
        documents=True,
        html=True,
        cost_per_unit=Decimal("0.0006"),
        cost_unit="message",
        typical_delivery_seconds=65.0,
        rate_per_second=10.0,
    )
    #: How old a signed event batch may be, in seconds (replays beyond it are refused).
    timestamp_tolerance: ClassVar[float] = 600.0

    def __init__(self, config: AdapterConfig) -> None:
        super().__init__(config)
        self._client: Any = None
        self._transport: Transport | None = None

    def _http(self) -> Transport:
        """The SDK's requests over pooled connections (``transport``)."""
        if self._transport is None:
            self._transport = Transport(self._sendgrid(), self.config.timeout)
        return self._transport

    def _sendgrid(self) -> Any:
        if self._client is None:
            from sendgrid import SendGridAPIClient

            self._client = SendGridAPIClient(
                api_key=self.config.credentials["api_key"], host=self.config.base_url.rstrip("/")
            )
            self._client.client.timeout = self.config.timeout
        return self._client

    # ---------------------------------------------------------------- sending

    def build_body(self, message: OutgoingMessage) -> dict[str, Any]:
        """The Mail Send JSON for ``message``."""
        options = self.config.options
        if not options.get("from_email"):
            raise PermanentProviderError("no from_email configured", provider=PROVIDER)
        sender: dict[str, str] = {"email": options["from_email"]}
        if message.sender_name or options.get("from_name"):
            sender["name"] = message.sender_name or options["from_name"]
        content = [{"type": "text/plain", "value": message.text or " "}]
        if message.html:
            content.append({"type": "text/html", "value": message.html})
        body: dict[str, Any] = {
            "personalizations": [{"to": [{"email": message.to}]}],
            "from": sender,
            "subject": message.subject or "",
            "content": content,
        }
        if message.reply_to:
            body["reply_to"] = {"email": message.reply_to}
        headers = {}
        if message.in_reply_to:
            headers["In-Reply-To"] = message.in_reply_to
        if message.references or message.in_reply_to:
            headers["References"] = " ".join(message.references or (message.in_reply_to or "",))
        if headers:
            body["headers"] = headers
        if message.reference:
            # per personalization: the spec types it as an object there (the top level says string)
            body["personalizations"][0]["custom_args"] = {"reference": message.reference}
        if message.attachments:
            body["attachments"] = [self._attachment(a) for a in message.attachments]
        return body

    @staticmethod
    def _attachment(attachment: Any) -> dict[str, str]:
        if attachment.content is None:
            raise PermanentProviderError(
                f"SendGrid needs the content of {attachment.filename}",
                provider=PROVIDER,
                code="attachment_content_required",
            )
        return {
            "content": base64.b64encode(attachment.content).decode("ascii"),
            "type": attachment.content_type,
            "filename": attachment.filename,
            "disposition": "attachment",
        }

    async def send(self, message: OutgoingMessage) -> SendResult:
        """POST ``/v3/mail/send``; the provider id is the ``X-Message-Id`` header."""
        body = self.build_body(message)
        try:
            response = await self._http().post(MAIL_SEND, body)
        except Exception as exc:
            raise map_error(exc) from exc
        message_id = response.headers.get("X-Message-Id")
        if not message_id:
            raise PermanentProviderError(
                "SendGrid accepted the mail without an X-Message-Id", provider=PROVIDER
            )
        return SendResult(
            provider_message_id=message_id,
            status=MessageStatus.QUEUED,
            cost=self.capabilities.cost_per_unit,
            raw={"status_code": response.status_code, "x_message_id": message_id},
        )

    async def check_connection(self) -> None:
        """Validate a mail in sandbox mode: fails on a bad key or endpoint, sends nothing."""
        from core.channels.adapter import OutgoingMessage as Outgoing

        body = self.build_body(
            Outgoing(
                channel=Channel.EMAIL,
                to=self.config.options["from_email"],
                subject="test",
                text="test",
            )
        )
        body["mail_settings"] = {"sandbox_mode": {"enable": True}}
        try:
            await self._http().post(MAIL_SEND, body)
        except Exception as exc:
            raise map_error(exc) from exc

    async def close(self) -> None:
        """Close the pooled connections."""
        if self._transport is not None:
            await self._transport.close()
        self._transport = None

    # ---------------------------------------------------------------- webhooks

    @staticmethod
    def _is_inbound(request: WebhookRequest) -> bool:
        return "multipart/form-data" in request.header("content-type").lower()

    def verify(self, request: WebhookRequest) -> None:
        """ECDSA signature for events; Basic auth with ``inbound_secret`` for Inbound Parse."""
        if self._is_inbound(request):
            self._verify_inbound(request)
        else:
            self._verify_events(request, now=time.time())

    def _verify_inbound(self, request: WebhookRequest) -> None:
        """Basic auth, or the secret as the last path segment (``/inbound/{secret}``).

        Both compared in constant time with ``inbound_secret``.
        """
        secret = self.config.credentials.get("inbound_secret", "")
        in_path = request.path_params.get("secret")
        if in_path is not None:
            if not secret or not hmac.compare_digest(in_path.encode(), secret.encode()):
                raise SignatureError("Inbound Parse path secret does not match")
            return
        auth = request.header("authorization")
        if not auth.lower().startswith("basic "):
            raise SignatureError("missing header Authorization (Inbound Parse basic auth)")
        try:
            decoded = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise SignatureError("Authorization: not valid basic auth") from None
        password = decoded.partition(":")[2]
        if not secret or not hmac.compare_digest(password.encode(), secret.encode()):
            raise SignatureError("Inbound Parse basic auth does not match")

    def _verify_events(self, request: WebhookRequest, now: float) -> None:
        signature = request.header(SIGNATURE_HEADER)
        timestamp = request.header(TIMESTAMP_HEADER)
        if not signature or not timestamp:
            raise SignatureError("missing header X-Twilio-Email-Event-Webhook-Signature/Timestamp")
        try:
            age = abs(now - float(timestamp))
        except ValueError:
            raise SignatureError("X-Twilio-Email-Event-Webhook-Timestamp: not a number") from None
        if not age <= self.timestamp_tolerance:  # also refuses "nan" and "inf"
            raise SignatureError("X-Twilio-Email-Event-Webhook-Timestamp: too old")
        key = self.config.options.get("event_public_key")
        if not key:
            raise SignatureError("no event_public_key configured for the SendGrid Event Webhook")
        try:
            payload = request.body.decode("utf-8")
            valid = _verifier(key).verify_signature(payload, signature, timestamp)
        except Exception:  # bad key, bad DER, bad base64: all mean "not signed by SendGrid"
            valid = False
        if not valid:
            raise SignatureError("X-Twilio-Email-Event-Webhook-Signature does not match")

    def parse(self, request: WebhookRequest) -> list[NormalizedEvent]:
        """Inbound Parse (multipart) → one ``InboundMessage``; Event Webhook → one event each."""
        if self._is_inbound(request):
            return [parse_inbound(request)]
        events = read_json(request)
        if not isinstance(events, list):
            raise MalformedWebhook("body: expected a JSON array of events")
        parsed: list[NormalizedEvent] = []
        for index, raw in enumerate(events):
            event = self._event(mapping(raw, f"[{index}]"), f"[{index}].")
            if event is not None:
                parsed.append(event)
        return parsed

    @staticmethod
    def _event(raw: Any, where: str) -> NormalizedEvent | None:
        kind = require(raw, "event", where)
        message_id = str(require(raw, "sg_message_id", where))
        reference = raw.get("reference")
        occurred = from_unix(raw.get("timestamp"))
        if kind in DELIVERY_EVENTS:
            failed = DELIVERY_EVENTS[kind] is MessageStatus.FAILED
            return StatusUpdate(
                provider=Provider.SENDGRID,
                channel=Channel.EMAIL,
                provider_message_id=message_id,
                status=DELIVERY_EVENTS[kind],
                occurred_at=occurred,
                error_code=(str(raw.get("status") or raw.get("type") or kind)) if failed else None,
                error_message=raw.get("reason") or raw.get("response") if failed else None,
                reference=reference,
                prefix_match=True,
            )
        if kind in ENGAGEMENT_EVENTS:
            return EngagementEvent(
                provider=Provider.SENDGRID,
                channel=Channel.EMAIL,
                provider_message_id=message_id,
                kind="unsubscribe" if kind == "group_unsubscribe" else kind,
                occurred_at=occurred,
                url=raw.get("url"),
                reference=reference,
                prefix_match=True,
            )
        return None  # group_resubscribe and future event types are ignored

    def dedupe_keys(self, request: WebhookRequest) -> list[str]:
        """``sendgrid:<sg_event_id>`` per event; ``sendgrid:inbound:<Message-ID>`` for email."""
        if self._is_inbound(request):
            return [f"sendgrid:inbound:{parse_inbound(request).provider_message_id}"]
        events = read_json(request)
        if not isinstance(events, list):
            raise MalformedWebhook("body: expected a JSON array of events")
        return [
            f"sendgrid:{require(mapping(e, f'[{i}]'), 'sg_event_id', f'[{i}].')}"
            for i, e in enumerate(events)
        ]


@functools.lru_cache(maxsize=8)
def _verifier(public_key: str) -> Any:
    """The SDK's verifier of ``public_key`` (the key is parsed once, not per request)."""
    from sendgrid.helpers.eventwebhook import EventWebhook

    return EventWebhook(public_key)
