"""The one fake provider adapter of the tests: it sends, reads webhooks and declares what it
offers like a real adapter, and records what it was asked.

Sending: every message is accepted unless ``script`` says otherwise (an exception to raise per
send, ``None`` to accept); sends are counted per reference (the outbox idempotency key).
With ``lookup`` / ``recent`` it finds its sends again as Twilio does.

Webhooks: JSON ``{"events": [...]}`` signed with an HMAC of URL + body in the header
``X-Fake-Signature``; each event is a dict whose ``type`` says what to build (``message``,
``status``, ``engagement``, ``call``). Like aiogram's mocked session: real HTTP, fake provider.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from core.channels.adapter import (
    AdapterConfig,
    CallReport,
    Capabilities,
    ChannelAdapter,
    EngagementEvent,
    InboundMessage,
    NormalizedEvent,
    OutgoingMessage,
    SendResult,
    StatusUpdate,
    WebhookRequest,
)
from core.channels.errors import MalformedWebhook, SignatureError, TransientProviderError
from core.domain.enums import Channel, MessageStatus, Provider
from core.storage.types import utcnow

SECRET = "fake-webhook-secret"
#: The provider a fake adapter plays for each channel unless told otherwise.
PROVIDERS = {
    Channel.SMS: Provider.TWILIO,
    Channel.WHATSAPP: Provider.TWILIO,
    Channel.EMAIL: Provider.SENDGRID,
    Channel.TELEGRAM: Provider.TELEGRAM,
    Channel.VOICE: Provider.VAPI,
}
_IDS = itertools.count(1)


def sign(url: str, body: bytes, secret: str = SECRET) -> str:
    """The signature the fake provider puts on a request to ``url``."""
    return hmac.new(secret.encode(), url.encode() + body, hashlib.sha256).hexdigest()


class FakeAdapter(ChannelAdapter):
    """A provider adapter that sends into memory and speaks the fake JSON webhook format.

    Built by the tests (``FakeAdapter(Channel.SMS, provider=…, lookup=True)``) or, like a real
    adapter, by the runtime from an ``AdapterConfig`` (the class's channel then).
    """

    name = "fake"
    provider = Provider.TWILIO
    channel = Channel.SMS
    capabilities = Capabilities(max_length=None)
    credential_names: tuple[str, ...] = ()

    def __init__(
        self,
        channel: Channel | AdapterConfig | None = None,
        script: Iterable[Exception | None] = (),
        *,
        provider: Provider | None = None,
        secret: str = SECRET,
        options: Mapping[str, Any] | None = None,
        credentials: Mapping[str, str] | None = None,
        lookup: bool = False,
        recent: bool = False,
        polling: bool = False,
        accept_on_timeout: bool = False,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if isinstance(channel, AdapterConfig):
            super().__init__(channel)
            channel = None
        else:
            super().__init__(
                AdapterConfig(
                    base_url="http://fake.invalid",
                    credentials=dict(credentials or {}),
                    options=dict(options or {}),
                )
            )
        if channel is not None:
            self.channel = Channel(channel)  # type: ignore[misc]
            self.provider = provider or PROVIDERS[self.channel]  # type: ignore[misc]
            self.name = f"fake_{self.channel}"  # type: ignore[misc]
        self.capabilities = replace(  # type: ignore[misc]
            self.capabilities,
            rate_per_second=10_000.0,
            lookup=lookup,
            recent=recent,
            polling=polling,
        )
        self.secret = secret
        self.script = list(script)
        self.accept_on_timeout = accept_on_timeout
        self.clock = clock
        self.sent: list[OutgoingMessage] = []
        self.accepted: dict[str, SendResult] = {}
        self.calls: Counter[str] = Counter()
        self.verified: list[WebhookRequest] = []
        self.parsed: list[WebhookRequest] = []

    # ---------------------------------------------------------------- sending

    async def send(self, message: OutgoingMessage) -> SendResult:
        assert message.reference
        self.calls[message.reference] += 1
        error = self.script.pop(0) if self.script else None
        if error is not None:
            if self.accept_on_timeout and isinstance(error, TransientProviderError):
                self._accept(message)
            raise error
        return self._accept(message)

    def _accept(self, message: OutgoingMessage) -> SendResult:
        assert message.reference
        result = SendResult(
            provider_message_id=f"{self.name.upper()}{next(_IDS):08d}",
            raw={"to": message.to, "body": message.text, "date_created": self.clock()},
        )
        self.sent.append(message)
        self.accepted[message.reference] = result
        return result

    async def lookup(self, reference: str) -> SendResult | None:
        return self.accepted.get(reference) if self.capabilities.lookup else None

    async def recent(self, to: str, limit: int = 20) -> list[SendResult]:
        if not self.capabilities.recent:
            return await super().recent(to, limit)
        found = [r for r in self.accepted.values() if r.raw["to"] == to]
        return list(reversed(found))[:limit]

    # ---------------------------------------------------------------- webhooks

    def owns_route(self, path_params: Mapping[str, str]) -> bool:
        named = path_params.get("bot_id")
        return named is None or named == self.config.options.get("bot_id")

    def answer_challenge(self, query: Mapping[str, str]) -> str:
        expected = self.config.credentials.get("verify_token", "")
        given = query.get("hub.verify_token", "")
        if query.get("hub.mode") != "subscribe" or not expected or given != expected:
            raise SignatureError("verify token does not match")
        return query.get("hub.challenge", "")

    def verify(self, request: WebhookRequest) -> None:
        given = request.header("x-fake-signature")
        if not hmac.compare_digest(given, sign(request.url, request.body, self.secret)):
            raise SignatureError("X-Fake-Signature does not match")
        self.verified.append(request)

    def parse(self, request: WebhookRequest) -> list[NormalizedEvent]:
        self.parsed.append(request)
        return [self._event(item) for item in _events(request.body)]

    def dedupe_keys(self, request: WebhookRequest) -> list[str]:
        return [str(item["key"]) for item in _events(request.body) if "key" in item]

    def _event(self, item: dict[str, Any]) -> NormalizedEvent:
        kind = item.get("type", "message")
        if kind == "message":
            return InboundMessage(
                provider=self.provider,
                channel=Channel(item.get("channel", self.channel)),
                provider_message_id=item["id"],
                sender=item["from"],
                recipient=item.get("to"),
                text=item.get("text", ""),
                subject=item.get("subject"),
                sender_name=item.get("name"),
                occurred_at=datetime.fromisoformat(item["at"]) if "at" in item else None,
                extra=item.get("extra") or {},
            )
        if kind == "status":
            return StatusUpdate(
                provider=self.provider,
                channel=self.channel,
                provider_message_id=item["id"],
                status=MessageStatus(item["status"]),
                error_code=item.get("error_code"),
                cost=Decimal(item["cost"]) if "cost" in item else None,
                prefix_match=bool(item.get("prefix")),
            )
        if kind == "engagement":
            return EngagementEvent(
                provider=self.provider,
                channel=self.channel,
                provider_message_id=item["id"],
                kind=item["kind"],
                url=item.get("url"),
                prefix_match=bool(item.get("prefix")),
            )
        if kind == "call":
            return CallReport(
                provider=self.provider,
                provider_call_id=item["id"],
                phone=item.get("phone"),
                status=item.get("status", "ended"),
                direction=item.get("direction", "inbound"),
                duration_seconds=item.get("duration"),
                summary=item.get("summary"),
                transcript=item.get("transcript"),
                recording_url=item.get("recording_url"),
                final=bool(item.get("final", True)),
            )
        raise MalformedWebhook(f"unknown event type {kind!r}")


def _events(body: bytes) -> list[dict[str, Any]]:
    try:
        text = body.decode("utf-8")
        if text.startswith("events="):  # the form a polled Twilio message list gives
            text = '{"events": ' + dict(parse_qsl(text))["events"] + "}"
        document = json.loads(text)
        events = document["events"]
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedWebhook(f"body is not JSON: {type(exc).__name__}") from None
    except (KeyError, TypeError):
        raise MalformedWebhook("body has no events list") from None
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise MalformedWebhook("events must be a list of objects")
    return events


def body(*events: dict[str, Any]) -> bytes:
    """A fake webhook body carrying ``events``."""
    return json.dumps({"events": list(events)}).encode()


def message(key: str, sender: str, text: str, **extra: Any) -> dict[str, Any]:
    """An inbound message event (``key`` is its provider message id and dedupe key)."""
    return {"type": "message", "key": key, "id": key, "from": sender, "text": text, **extra}


def status(message_id: str, value: str, **extra: Any) -> dict[str, Any]:
    """A status update event."""
    return {
        "type": "status",
        "key": f"{message_id}:{value}",
        "id": message_id,
        "status": value,
        **extra,
    }
