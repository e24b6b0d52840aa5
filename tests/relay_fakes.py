"""A fake provider adapter for the relay and ingest tests, recording what it was asked.

Its webhooks are JSON ``{"events": [...]}`` signed with an HMAC of URL + body in the header
``X-Fake-Signature``; each event is a dict whose ``type`` says what to build (``message``,
``status``, ``engagement``, ``call``). Like aiogram's mocked session: real HTTP, fake provider.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
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
from core.channels.errors import MalformedWebhook, SignatureError
from core.domain.enums import Channel, MessageStatus, Provider

SECRET = "fake-webhook-secret"


def sign(url: str, body: bytes, secret: str = SECRET) -> str:
    """The signature the fake provider puts on a request to ``url``."""
    return hmac.new(secret.encode(), url.encode() + body, hashlib.sha256).hexdigest()


class FakeAdapter(ChannelAdapter):
    """A provider adapter speaking the fake JSON webhook format."""

    name = "fake"
    capabilities = Capabilities(max_length=None)

    def __init__(
        self,
        provider: Provider,
        channel: Channel,
        *,
        secret: str = SECRET,
        options: Mapping[str, Any] | None = None,
        credentials: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            AdapterConfig(
                base_url="http://fake.invalid",
                credentials=dict(credentials or {}),
                options=dict(options or {}),
            )
        )
        self.provider = provider  # type: ignore[misc]
        self.channel = channel  # type: ignore[misc]
        self.secret = secret
        self.verified: list[WebhookRequest] = []
        self.parsed: list[WebhookRequest] = []

    async def send(self, message: OutgoingMessage) -> SendResult:
        raise NotImplementedError("the relay never sends")

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


class FakeAdapters:
    """An ``AdapterLookup``: one fake adapter per channel, the providers of the contract."""

    def __init__(self, **overrides: FakeAdapter) -> None:
        self.by_channel: dict[Channel, FakeAdapter] = {
            Channel.SMS: FakeAdapter(Provider.TWILIO, Channel.SMS),
            Channel.WHATSAPP: FakeAdapter(Provider.TWILIO, Channel.WHATSAPP),
            Channel.EMAIL: FakeAdapter(Provider.SENDGRID, Channel.EMAIL),
            Channel.TELEGRAM: FakeAdapter(
                Provider.TELEGRAM, Channel.TELEGRAM, options={"bot_id": "777"}
            ),
            Channel.VOICE: FakeAdapter(Provider.VAPI, Channel.VOICE),
        }
        for name, adapter in overrides.items():
            self.by_channel[Channel(name)] = adapter
        #: Second providers of a channel (WhatsApp on Twilio and on Meta).
        self.more: dict[Channel, list[FakeAdapter]] = {}

    def __call__(self, channel: Channel, provider: Provider | None = None) -> FakeAdapter | None:
        adapter = self.by_channel.get(Channel(channel))
        for extra in self.more.get(Channel(channel), []):
            if provider is not None and extra.provider == provider:
                return extra
        if adapter is not None and provider is not None and adapter.provider != provider:
            return None
        return adapter


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
