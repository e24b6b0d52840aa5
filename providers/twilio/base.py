"""What the Twilio SMS and WhatsApp adapters share: client, errors, signature, webhook parsing.

Twilio's webhooks are the same for both channels (WhatsApp addresses carry a ``whatsapp:``
prefix), so either adapter parses either kind; the channel is read from the addresses.
"""

from __future__ import annotations

import asyncio
import dataclasses
from abc import abstractmethod
from decimal import Decimal
from typing import Any, ClassVar
from urllib.parse import urlencode

from core.channels.adapter import (
    AdapterConfig,
    Attachment,
    ChannelAdapter,
    InboundMessage,
    Location,
    NormalizedEvent,
    OutgoingMessage,
    SendResult,
    StatusUpdate,
    WebhookRequest,
    WebhookRoute,
)
from core.channels.errors import MalformedWebhook, PermanentProviderError, SignatureError
from core.domain.enums import Channel, MessageStatus, Provider
from providers._common import FormData, read_form
from providers.twilio.errors import PROVIDER, map_error
from providers.twilio.signature import signature_matches

#: Where the relay receives status callbacks (appended to ``AdapterConfig.callback_url``).
STATUS_PATH = "/webhooks/twilio/status"

STATUSES: dict[str, MessageStatus] = {
    "accepted": MessageStatus.QUEUED,
    "queued": MessageStatus.QUEUED,
    "scheduled": MessageStatus.SCHEDULED,
    "sending": MessageStatus.SENDING,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "partially_delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
    "failed": MessageStatus.FAILED,
    "undelivered": MessageStatus.UNDELIVERED,
    "canceled": MessageStatus.CANCELLED,
    "receiving": MessageStatus.RECEIVED,
    "received": MessageStatus.RECEIVED,
}

WHATSAPP_PREFIX = "whatsapp:"


def map_status(value: str | None) -> MessageStatus:
    """Our status for a Twilio status string."""
    return STATUSES.get((value or "").lower(), MessageStatus.UNKNOWN)


def _strip(address: str | None) -> str | None:
    if address and address.startswith(WHATSAPP_PREFIX):
        return address[len(WHATSAPP_PREFIX) :]
    return address


#: What Twilio expects in answer to a webhook: an empty TwiML document (no reply sent).
TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def twilio_route(name: str, *channels: Channel) -> WebhookRoute:
    """A Twilio webhook path ``/webhooks/<name>``, answered with empty TwiML."""
    return WebhookRoute(
        name, f"/webhooks/{name}", channels, reply=TWIML_EMPTY, reply_type="text/xml"
    )


#: Paths both Twilio channels share: status callbacks, and the one inbound URL some set-ups
#: use for SMS and WhatsApp; the channel is read from the numbers (``route_channel``).
SHARED_ROUTES = (
    twilio_route("twilio/status", Channel.SMS, Channel.WHATSAPP),
    twilio_route("twilio/inbound", Channel.SMS, Channel.WHATSAPP),
)


class TwilioAdapter(ChannelAdapter):
    """Shared Twilio behaviour; subclasses build the create parameters.

    Options: ``from_number`` (E.164) or ``messaging_service_sid``.
    """

    provider = Provider.TWILIO
    credential_names: ClassVar[tuple[str, ...]] = ("account_sid", "auth_token")
    secret_headers: ClassVar[frozenset[str]] = frozenset({"x-twilio-signature"})

    def __init__(self, config: AdapterConfig) -> None:
        super().__init__(config)
        self._client: Any = None
        self._http: Any = None

    @classmethod
    def route_channel(cls, route: WebhookRoute, request: WebhookRequest) -> Channel:
        """WhatsApp when the form's numbers carry ``whatsapp:``, else the route's channel."""
        if len(route.channels) == 1:
            return route.channel
        try:
            form = read_form(request)
        except MalformedWebhook:
            return route.channel
        numbers = (form.first("From") or "") + (form.first("To") or "")
        return Channel.WHATSAPP if WHATSAPP_PREFIX in numbers else Channel.SMS

    # ---------------------------------------------------------------- client

    def _twilio(self) -> Any:
        """The twilio Client on an aiohttp session, built inside the running loop."""
        if self._client is None:
            from twilio.rest import Client

            from providers.twilio.http import RecordingHttpClient

            self._http = RecordingHttpClient()
            self._client = Client(
                self.config.credentials["account_sid"],
                self.config.credentials["auth_token"],
                http_client=self._http,
                environment={},  # never pick up TWILIO_EDGE / TWILIO_REGION
            )
            self._client.api.base_url = self.config.base_url.rstrip("/")
        return self._client

    async def _call(self, coro: Any) -> Any:
        """Await a twilio call, its errors mapped with its own response's headers."""
        from providers.twilio.http import response_headers

        with response_headers() as headers:
            try:
                return await asyncio.wait_for(coro, self.config.timeout)
            except Exception as exc:
                raise map_error(exc, headers) from exc

    # ---------------------------------------------------------------- sending

    @abstractmethod
    def _create_params(self, message: OutgoingMessage) -> dict[str, Any]:
        """The ``messages.create`` parameters of ``message`` for this channel."""

    def _sender(self) -> dict[str, str]:
        options = self.config.options
        if options.get("messaging_service_sid"):
            return {"messaging_service_sid": options["messaging_service_sid"]}
        if options.get("from_number"):
            return {"from_": self._address(options["from_number"])}
        raise PermanentProviderError(
            "no from_number or messaging_service_sid configured", provider=PROVIDER
        )

    def _address(self, number: str) -> str:
        return number

    def _status_callback(self, reference: str | None) -> str | None:
        if not self.config.callback_url:
            return None
        url = self.config.callback_url.rstrip("/") + STATUS_PATH
        return f"{url}?{urlencode({'ref': reference})}" if reference else url

    @staticmethod
    def _media_urls(attachments: tuple[Attachment, ...]) -> list[str]:
        urls = []
        for attachment in attachments:
            if not attachment.url:
                raise PermanentProviderError(
                    f"Twilio needs a public URL for {attachment.filename}",
                    provider=PROVIDER,
                    code="media_url_required",
                )
            urls.append(attachment.url)
        return urls

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Create the message (``POST …/Messages.json``)."""
        params = self._create_params(message)
        callback = self._status_callback(message.reference)
        if callback:
            params["status_callback"] = callback
        created = await self._call(self._twilio().messages.create_async(**params))
        return self._result(created, message.text)

    def _result(self, instance: Any, text: str = "") -> SendResult:
        raw = {
            "sid": instance.sid,
            "status": instance.status,
            "to": instance.to,
            "from": instance.from_,
            "num_segments": instance.num_segments,
            "price": instance.price,
            "error_code": instance.error_code,
        }
        segments = self._segments(instance, text)
        return SendResult(
            provider_message_id=instance.sid,
            status=map_status(instance.status),
            segments=segments,
            cost=self._cost(segments),
            raw=raw,
        )

    def _segments(self, instance: Any, text: str) -> int | None:
        return None

    def _cost(self, segments: int | None) -> Decimal | None:
        return self.capabilities.cost_per_unit

    async def lookup(self, reference: str) -> SendResult | None:
        """Fetch a message by its Twilio SID (``SM…``/``MM…``); None if Twilio does not know it.

        Twilio keeps no custom reference on a message, so only a SID can be looked up.
        """
        if reference[:2] not in ("SM", "MM") or len(reference) != 34:
            return None
        from twilio.base.exceptions import TwilioRestException

        try:
            instance = await self._call(self._twilio().messages(reference).fetch_async())
        except PermanentProviderError as exc:
            if exc.status == 404 and isinstance(exc.__cause__, TwilioRestException):
                return None
            raise
        return self._result(instance, instance.body or "")

    async def recent(self, to: str, limit: int = 20) -> list[SendResult]:
        """The latest messages sent to ``to`` (Messages list), newest first.

        Each ``raw`` also carries ``body`` and ``date_created``: the outbox matches an
        interrupted send on them (``core.outbox.reconcile``).
        """
        items = await self._call(
            self._twilio().messages.list_async(to=self._address(to), limit=limit)
        )
        listed = []
        for item in items:
            result = self._result(item, item.body or "")
            raw = {**result.raw, "body": item.body or "", "date_created": item.date_created}
            listed.append(dataclasses.replace(result, raw=raw))
        return listed

    async def download_media(self, reference: str) -> tuple[bytes, str]:
        """A ``MediaUrlN`` of an inbound message, fetched with the account's credentials.

        The credentials go only to Twilio's API host (or the configured ``base_url``): any other
        URL is refused.
        """
        import httpx

        if not self._own_media_url(reference):
            raise PermanentProviderError(
                "not a Twilio media URL of this account", provider=PROVIDER, code="media_url"
            )
        creds = self.config.credentials
        try:
            async with httpx.AsyncClient(timeout=self.config.timeout) as client:
                response = await client.get(
                    reference, auth=(creds["account_sid"], creds["auth_token"])
                )
                response.raise_for_status()
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            error = PermanentProviderError if status < 500 and status != 429 else None
            if error is not None:
                raise error(
                    f"Twilio {status}: media not available", provider=PROVIDER, status=status
                ) from exc
            raise map_error(exc) from exc
        except httpx.HTTPError as exc:
            raise map_error(exc) from exc
        kind = response.headers.get("content-type", "application/octet-stream").split(";")[0]
        return response.content, kind

    async def list_media(self, message_sid: str) -> list[str]:
        """The media URLs of a message (``GET …/Messages/{sid}/Media.json``), for
        ``download_media``."""
        items = await self._call(self._twilio().messages(message_sid).media.list_async())
        base = self.config.base_url.rstrip("/")
        return [base + str(item.uri).removesuffix(".json") for item in items]

    def _own_media_url(self, url: str) -> bool:
        from urllib.parse import urlsplit

        parts, base = urlsplit(url), urlsplit(self.config.base_url)
        account = self.config.credentials["account_sid"]
        same_host = (parts.scheme, parts.netloc) == (base.scheme, base.netloc) or (
            parts.scheme == "https" and parts.hostname == "api.twilio.com"
        )
        return (
            same_host
            and f"/Accounts/{account}/Messages/" in parts.path
            and "/Media/" in (parts.path)
        )

    async def check_connection(self) -> None:
        """List one message: fails on bad credentials or an unreachable endpoint."""
        await self._call(self._twilio().messages.list_async(limit=1))

    async def close(self) -> None:
        """Close the aiohttp session."""
        if self._http is not None:
            await self._http.close()
        self._http = self._client = None

    # ---------------------------------------------------------------- webhooks

    def verify(self, request: WebhookRequest) -> None:
        """Check ``X-Twilio-Signature`` over the exact URL and the form parameters.

        The HMAC is computed once (``providers.twilio.signature``); a request signed with a
        body hash (``bodySHA256``, JSON bodies) goes to ``twilio``'s own validator.
        """
        signature = request.header("x-twilio-signature")
        if not signature:
            raise SignatureError("missing header X-Twilio-Signature")
        params: Any = read_form(request) if request.method.upper() == "POST" else {}
        token = self.config.credentials["auth_token"]
        if "bodySHA256" in request.url:
            from twilio.request_validator import RequestValidator

            valid = RequestValidator(token).validate(request.url, params, signature)
        else:
            valid = signature_matches(token, request.url, params, signature)
        if not valid:
            raise SignatureError("X-Twilio-Signature does not match")

    def parse(self, request: WebhookRequest) -> list[NormalizedEvent]:
        """An inbound message or a status callback."""
        form = read_form(request)
        status = form.first("MessageStatus")
        if status and status.lower() != "received":
            return [self._status(form, request)]
        return [self._inbound(form)]

    def dedupe_keys(self, request: WebhookRequest) -> list[str]:
        """``twilio:<MessageSid>:<status>``."""
        form = read_form(request)
        sid = form.first("MessageSid") or form.first("SmsSid")
        if not sid:
            raise MalformedWebhook("missing required field MessageSid")
        status = form.first("MessageStatus") or form.first("SmsStatus") or "received"
        return [f"twilio:{sid}:{status.lower()}"]

    @staticmethod
    def _channel(form: FormData) -> Channel:
        addresses = (form.first("From") or "", form.first("To") or "")
        whatsapp = any(a.startswith(WHATSAPP_PREFIX) for a in addresses)
        return Channel.WHATSAPP if whatsapp or form.first("ChannelPrefix") else Channel.SMS

    def _status(self, form: FormData, request: WebhookRequest) -> StatusUpdate:
        sid = form.first("MessageSid") or form.first("SmsSid")
        if not sid:
            raise MalformedWebhook("missing required field MessageSid")
        return StatusUpdate(
            provider=Provider.TWILIO,
            channel=self._channel(form),
            provider_message_id=sid,
            status=map_status(form.first("MessageStatus")),
            error_code=form.first("ErrorCode") or None,
            error_message=form.first("ErrorMessage") or form.first("ChannelStatusMessage"),
            reference=request.query.get("ref"),
        )

    def _inbound(self, form: FormData) -> InboundMessage:
        first = form.first
        sid = first("MessageSid") or first("SmsSid")
        if not sid:
            raise MalformedWebhook("missing required field MessageSid")
        sender = first("From")
        if not sender:
            raise MalformedWebhook("missing required field From")
        attachments = []
        try:
            count = int(first("NumMedia") or 0)
        except ValueError:
            raise MalformedWebhook("NumMedia: not a number") from None
        for n in range(count):
            url = first(f"MediaUrl{n}")
            if url:
                kind = first(f"MediaContentType{n}") or "application/octet-stream"
                # Twilio gives no file name (the URL ends with the media SID): the app names
                # the file after its type (core.service.attachments.named_from_type).
                attachments.append(Attachment(filename="", content_type=kind, url=url))
        location = None
        if first("Latitude") and first("Longitude"):
            try:
                location = Location(
                    latitude=float(first("Latitude") or 0),
                    longitude=float(first("Longitude") or 0),
                    name=first("Label"),
                    address=first("Address"),
                )
            except ValueError:
                raise MalformedWebhook("Latitude/Longitude: not numbers") from None
        extra = {key: value for key in EXTRA_FIELDS if (value := first(key))}
        return InboundMessage(
            provider=Provider.TWILIO,
            channel=self._channel(form),
            provider_message_id=sid,
            sender=_strip(sender) or "",
            recipient=_strip(first("To")),
            text=first("Body") or "",
            attachments=tuple(attachments),
            location=location,
            sender_name=first("ProfileName"),
            in_reply_to=first("OriginalRepliedMessageSid"),
            button_payload=first("ButtonPayload"),
            extra=extra,
        )


#: Fields of an inbound message kept as they are in ``InboundMessage.extra`` (when set).
EXTRA_FIELDS = (
    "OptOutType",
    "WaId",
    "ButtonText",
    "MessageType",
    "OriginalRepliedMessageSid",
    "FromCountry",
    "NumSegments",
)
