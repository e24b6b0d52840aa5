"""Voice through VAPI: outbound calls (``POST /call``) and server messages."""

from __future__ import annotations

import hashlib
import hmac
import time
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from core.channels.adapter import (
    AdapterConfig,
    CallReport,
    Capabilities,
    ChannelAdapter,
    NormalizedEvent,
    OutgoingMessage,
    SendResult,
    WebhookRequest,
    WebhookRoute,
)
from core.channels.errors import MalformedWebhook, PermanentProviderError, SignatureError
from core.domain.enums import Channel, MessageStatus, Provider
from providers._common import from_iso, read_json, validated
from providers._httpx import map_httpx_error
from providers.vapi.payload import Analysis, Artifact, Customer, Payload, ServerMessage

PROVIDER = "vapi"
#: Server message types that become call reports; the others (transcript, tool-calls…) are ignored.
REPORTED = ("status-update", "end-of-call-report")


class VapiAdapter(ChannelAdapter):
    """Voice through VAPI.

    Options: ``assistant_id``, ``phone_number_id`` (the VAPI number calls are made from).
    Credentials: ``api_key`` (private key, Bearer), ``webhook_secret``: the secret of the server
    URL's credential. Server messages are authenticated by whichever scheme VAPI sends, and every
    scheme present must hold: the HMAC credential (``x-signature`` = hex HMAC-SHA256 of
    ``{x-timestamp}.{body}``; header names in the ``signature_header`` / ``timestamp_header``
    options), the Bearer credential (``Authorization: Bearer <secret>``) or the legacy
    ``X-Vapi-Secret`` header.
    """

    name = "vapi"
    provider = Provider.VAPI
    channel = Channel.VOICE
    credential_names: ClassVar[tuple[str, ...]] = ("api_key", "webhook_secret")
    secret_headers: ClassVar[frozenset[str]] = frozenset(
        {"x-vapi-secret", "x-vapi-signature", "x-signature"}
    )
    webhooks = (WebhookRoute("vapi", "/webhooks/vapi", (Channel.VOICE,)),)
    capabilities = Capabilities(
        max_length=None,
        cost_per_unit=Decimal("0.10"),
        cost_unit="minute",
        typical_delivery_seconds=30.0,
        rate_per_second=1.0,
    )

    def __init__(self, config: AdapterConfig) -> None:
        super().__init__(config)
        self._http: Any = None

    def _client(self) -> Any:
        if self._http is None:
            import httpx

            self._http = httpx.AsyncClient(
                base_url=self.config.base_url.rstrip("/"),
                timeout=self.config.timeout,
                headers={"Authorization": f"Bearer {self.config.credentials['api_key']}"},
            )
        return self._http

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = await self._client().request(method, path, **kwargs)
            response.raise_for_status()
            return response.json()
        except Exception as exc:
            raise map_httpx_error(exc, PROVIDER) from exc

    async def start_call(self, to: str, name: str | None = None) -> str:
        """Call ``to`` (E.164) with the configured assistant; the VAPI call id."""
        options = self.config.options
        if not options.get("assistant_id") or not options.get("phone_number_id"):
            raise PermanentProviderError(
                "no assistant_id / phone_number_id configured", provider=PROVIDER
            )
        customer = {"number": to, **({"name": name} if name else {})}
        body = {
            "assistantId": options["assistant_id"],
            "phoneNumberId": options["phone_number_id"],
            "customer": customer,
        }
        call = await self._request("POST", "/call", json=body)
        try:
            return str(call["id"])
        except (KeyError, TypeError):
            raise PermanentProviderError(
                "VAPI answered without a call id", provider=PROVIDER
            ) from None

    async def get_call(self, call_id: str) -> dict[str, Any]:
        """``GET /call/{id}``."""
        return await self._request("GET", f"/call/{call_id}")

    async def send(self, message: OutgoingMessage) -> SendResult:
        """Start a call to ``message.to`` (the text is not spoken; the assistant leads)."""
        call_id = await self.start_call(message.to, message.sender_name)
        return SendResult(provider_message_id=call_id, status=MessageStatus.QUEUED)

    async def check_connection(self) -> None:
        """List one call."""
        await self._request("GET", "/call", params={"limit": 1})

    async def close(self) -> None:
        """Close the httpx client."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # ---------------------------------------------------------------- webhooks

    #: How old an HMAC-signed server message may be, in seconds.
    timestamp_tolerance: ClassVar[float] = 300.0

    def verify(self, request: WebhookRequest) -> None:
        """Every authentication the server message carries holds (HMAC, Bearer, legacy)."""
        self._verify_at(request, time.time())

    def _verify_at(self, request: WebhookRequest, now: float) -> None:
        expected = self.config.credentials.get("webhook_secret", "")
        if not expected:
            raise SignatureError("no webhook_secret configured for VAPI")
        checked = False
        signature = request.header(self.config.options.get("signature_header", "x-signature"))
        if signature:
            self._verify_hmac(request, signature, expected, now)
            checked = True
        auth = request.header("authorization")
        if auth.lower().startswith("bearer "):
            _same(auth[7:].strip(), expected, "Authorization bearer credential")
            checked = True
        legacy = request.header("x-vapi-secret")
        if legacy:
            _same(legacy, expected, "X-Vapi-Secret")
            checked = True
        if not checked:
            raise SignatureError("missing header x-signature, Authorization or X-Vapi-Secret")

    def _verify_hmac(
        self, request: WebhookRequest, signature: str, secret: str, now: float
    ) -> None:
        stamp = request.header(self.config.options.get("timestamp_header", "x-timestamp"))
        if not stamp:
            raise SignatureError("missing header x-timestamp")
        try:
            seconds = float(stamp) / (1000 if len(stamp.split(".")[0]) > 11 else 1)
        except ValueError:
            raise SignatureError("x-timestamp: not a number") from None
        if not abs(now - seconds) <= self.timestamp_tolerance:  # also refuses nan
            raise SignatureError("x-timestamp: too old")
        signed = stamp.encode() + b"." + request.body
        digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        _same(signature.strip().lower().removeprefix("sha256="), digest, "x-signature")

    @staticmethod
    def _message(request: WebhookRequest) -> ServerMessage:
        return validated(Payload, read_json(request)).message

    def parse(self, request: WebhookRequest) -> list[NormalizedEvent]:
        """``status-update`` and ``end-of-call-report`` → ``CallReport``; others → nothing."""
        message = self._message(request)
        if message.type not in REPORTED:
            return []
        call = message.call
        if call is None:
            raise MalformedWebhook("missing required field message.call")
        if not call.id:
            raise MalformedWebhook("missing required field message.call.id")
        customer = message.customer or call.customer or Customer()
        artifact = message.artifact or Artifact()
        analysis = message.analysis or Analysis()
        final = message.type == "end-of-call-report"
        started = from_iso(message.started_at or call.started_at)
        ended = from_iso(message.ended_at or call.ended_at)
        duration = message.duration_seconds
        if duration is None and started and ended:
            duration = (ended - started).total_seconds()
        return [
            CallReport(
                provider=Provider.VAPI,
                provider_call_id=call.id,
                phone=customer.number,
                status="ended" if final else message.status or "unknown",
                direction="inbound" if call.type == "inboundPhoneCall" else "outbound",
                started_at=started,
                ended_at=ended,
                duration_seconds=duration,
                ended_reason=message.ended_reason,
                transcript=artifact.transcript or message.transcript,
                summary=analysis.summary or message.summary,
                recording_url=artifact.recording_url or message.recording_url,
                cost=_decimal(message.cost),
                final=final,
            )
        ]

    def dedupe_keys(self, request: WebhookRequest) -> list[str]:
        """``vapi:<call id>:<type>[:<status>]``."""
        message = self._message(request)
        call_id = message.call.id if message.call else None
        if not call_id:
            raise MalformedWebhook("missing required field message.call.id")
        suffix = f":{message.status}" if message.type == "status-update" and message.status else ""
        return [f"vapi:{call_id}:{message.type}{suffix}"]


def _same(given: str, expected: str, what: str) -> None:
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise SignatureError(f"VAPI {what} does not match")


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
