"""WhatsApp Cloud API: send through Graph ``/{version}/{phone-number-id}/messages``."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from core.channels.adapter import (
    AdapterConfig,
    Capabilities,
    ChannelAdapter,
    NormalizedEvent,
    OutgoingMessage,
    SendResult,
    WebhookRequest,
    WebhookRoute,
)
from core.channels.errors import PermanentProviderError, SignatureError
from core.domain.enums import Channel, MessageStatus, Provider
from providers._common import read_json
from providers._httpx import map_httpx_error
from providers.meta.parse import dedupe_keys, parse_payload, read_payload
from providers.meta.payload import Payload

PROVIDER = "meta"
DEFAULT_VERSION = "v23.0"
#: Where a request keeps its body read as a ``Payload`` (``WebhookRequest.parsed``).
PAYLOAD_KEY = "meta_payload"


class MetaWhatsAppAdapter(ChannelAdapter):
    """WhatsApp through Meta's Cloud API.

    Options: ``phone_number_id`` (required), ``api_version`` (default ``v23.0``).
    Credentials: ``access_token`` (Bearer), ``app_secret`` (``X-Hub-Signature-256``),
    ``verify_token`` (the GET subscription challenge, see ``verify_challenge``).
    """

    name = "meta_whatsapp"
    provider = Provider.META
    channel = Channel.WHATSAPP
    credential_names: ClassVar[tuple[str, ...]] = ("access_token", "app_secret", "verify_token")
    secret_headers: ClassVar[frozenset[str]] = frozenset({"x-hub-signature", "x-hub-signature-256"})
    webhooks = (
        WebhookRoute(
            "meta/whatsapp", "/webhooks/meta/whatsapp", (Channel.WHATSAPP,), challenge=True
        ),
        # the path some set-ups use, without the channel
        WebhookRoute("meta", "/webhooks/meta", (Channel.WHATSAPP,), challenge=True),
    )
    capabilities = Capabilities(
        max_length=4096,
        media=True,
        documents=True,
        location=True,
        templates=True,
        read_receipts=True,
        buttons=True,
        cost_per_unit=Decimal("0.01"),
        cost_unit="message",
        typical_delivery_seconds=30.0,
        rate_per_second=80.0,
        rate_per_recipient_per_second=1.0,
        media_download=True,
    )
    MAX_BUTTONS: ClassVar[int] = 3

    def __init__(self, config: AdapterConfig) -> None:
        super().__init__(config)
        self._http: Any = None

    def _client(self) -> Any:
        if self._http is None:
            import httpx

            self._http = httpx.AsyncClient(
                base_url=self.config.base_url.rstrip("/"),
                timeout=self.config.timeout,
                headers={"Authorization": f"Bearer {self.config.credentials['access_token']}"},
            )
        return self._http

    def _messages_path(self) -> str:
        number = self.config.options.get("phone_number_id")
        if not number:
            raise PermanentProviderError("no phone_number_id configured", provider=PROVIDER)
        version = self.config.options.get("api_version") or DEFAULT_VERSION
        return f"/{version}/{number}/messages"

    async def _post(self, body: dict[str, Any]) -> Any:
        try:
            response = await self._client().post(self._messages_path(), json=body)
            response.raise_for_status()
            return response.json()
        except PermanentProviderError:
            raise
        except Exception as exc:
            raise map_httpx_error(exc, PROVIDER) from exc

    # ---------------------------------------------------------------- sending

    def build_body(self, message: OutgoingMessage) -> dict[str, Any]:
        """The Graph ``messages`` JSON for ``message``."""
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": message.to.lstrip("+"),
        }
        if message.in_reply_to:
            body["context"] = {"message_id": message.in_reply_to}
        if message.template is not None:
            if message.reference:  # echoed on the statuses; the spec declares it for templates only
                body["biz_opaque_callback_data"] = message.reference
            template: dict[str, Any] = {
                "name": message.template.name,
                "language": {"policy": "deterministic", "code": message.template.language},
            }
            if message.template.parameters:
                params = [{"type": "text", "text": p} for p in message.template.parameters]
                template["components"] = [{"type": "body", "parameters": params}]
            body.update(type="template", template=template)
        elif message.buttons:
            if len(message.buttons) > self.MAX_BUTTONS:
                raise PermanentProviderError(
                    "WhatsApp allows at most 3 reply buttons", provider=PROVIDER, code="buttons"
                )
            buttons = [
                {"type": "reply", "reply": {"id": b.id, "title": b.title[:20]}}
                for b in message.buttons
            ]
            body.update(
                type="interactive",
                interactive={
                    "type": "button",
                    "body": {"text": message.text},
                    "action": {"buttons": buttons},
                },
            )
        elif message.location is not None:
            place = message.location
            # strings, as the spec types them
            location = {"latitude": str(place.latitude), "longitude": str(place.longitude)}
            location.update(
                {k: v for k, v in (("name", place.name), ("address", place.address)) if v}
            )
            body.update(type="location", location=location)
        elif message.attachments:
            first = message.attachments[0]
            if not first.url:
                raise PermanentProviderError(
                    f"a public URL is needed for {first.filename}",
                    provider=PROVIDER,
                    code="media_url_required",
                )
            kind = "image" if first.content_type.startswith("image/") else "document"
            media: dict[str, Any] = {"link": first.url}
            caption = first.caption or message.text
            if caption:
                media["caption"] = caption
            if kind == "document":
                media["filename"] = first.filename
            body.update(type=kind, **{kind: media})
        else:
            body.update(type="text", text={"body": message.text, "preview_url": False})
        return body

    async def send(self, message: OutgoingMessage) -> SendResult:
        """POST the message; the ``wamid`` is the provider id."""
        answer = await self._post(self.build_body(message))
        try:
            wamid = answer["messages"][0]["id"]
        except (KeyError, IndexError, TypeError):
            raise PermanentProviderError(
                "Meta answered without a message id", provider=PROVIDER
            ) from None
        return SendResult(
            provider_message_id=wamid,
            status=MessageStatus.QUEUED,
            cost=self.capabilities.cost_per_unit,
            raw=answer,
        )

    async def mark_read(self, wamid: str) -> None:
        """Mark a received message (and those before it) as read."""
        await self._post({"messaging_product": "whatsapp", "status": "read", "message_id": wamid})

    async def upload_media(self, content: bytes, content_type: str, filename: str) -> str:
        """``POST /{phone-number-id}/media``: the media id to send by ``{"id": …}``."""
        number = self.config.options.get("phone_number_id")
        version = self.config.options.get("api_version") or DEFAULT_VERSION
        try:
            response = await self._client().post(
                f"/{version}/{number}/media",
                data={"messaging_product": "whatsapp", "type": content_type},
                files={"file": (filename, content, content_type)},
            )
            response.raise_for_status()
            return str(response.json()["id"])
        except (KeyError, TypeError, ValueError):
            raise PermanentProviderError(
                "Meta answered the upload without a media id", provider=PROVIDER
            ) from None
        except Exception as exc:
            raise map_httpx_error(exc, PROVIDER) from exc

    async def download_media(self, media_id: str) -> tuple[bytes, str]:
        """A received media (``extra["media_id"]``): ``GET /{media-id}`` for its short-lived
        URL, then that URL with the access token. Returns (content, content type)."""
        if not media_id.isdigit():
            raise PermanentProviderError("not a Meta media id", provider=PROVIDER, code="media_id")
        version = self.config.options.get("api_version") or DEFAULT_VERSION
        try:
            info = await self._client().get(f"/{version}/{media_id}")
            info.raise_for_status()
            url = info.json()["url"]
            if not self._media_host(url):  # the token goes only to Meta's own hosts
                raise PermanentProviderError(
                    "Meta's media URL is not on a Meta host", provider=PROVIDER, code="media_url"
                )
            response = await self._client().get(url)
            response.raise_for_status()
        except PermanentProviderError:
            raise
        except (KeyError, TypeError, ValueError):
            raise PermanentProviderError(
                "Meta answered without a media URL", provider=PROVIDER
            ) from None
        except Exception as exc:
            raise map_httpx_error(exc, PROVIDER) from exc
        kind = response.headers.get("content-type", info.json().get("mime_type", ""))
        return response.content, kind.split(";")[0] or "application/octet-stream"

    def _media_host(self, url: str) -> bool:
        from urllib.parse import urlsplit

        from core.media import PROVIDER_MEDIA_HOSTS

        parts, base = urlsplit(url), urlsplit(self.config.base_url)
        if (parts.scheme, parts.netloc) == (base.scheme, base.netloc):
            return True
        host = (parts.hostname or "").lower()
        return parts.scheme == "https" and any(
            host == h or (h.startswith(".") and host.endswith(h))
            for h in PROVIDER_MEDIA_HOSTS["meta"]
        )

    async def check_connection(self) -> None:
        """GET the phone number object."""
        number = self.config.options.get("phone_number_id")
        version = self.config.options.get("api_version") or DEFAULT_VERSION
        try:
            response = await self._client().get(f"/{version}/{number}")
            response.raise_for_status()
        except Exception as exc:
            raise map_httpx_error(exc, PROVIDER) from exc

    async def close(self) -> None:
        """Close the httpx client."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # ---------------------------------------------------------------- webhooks

    def answer_challenge(self, query: Mapping[str, str]) -> str:
        """The ``hub.challenge`` to answer Meta's GET subscription check.

        Raises:
            SignatureError: wrong mode or verify token (answer 403).
        """
        expected = str(
            self.config.credentials.get("verify_token")
            or self.config.options.get("verify_token")
            or ""
        )
        token = query.get("hub.verify_token", "")
        if (
            query.get("hub.mode") != "subscribe"
            or not expected
            or not hmac.compare_digest(token.encode(), expected.encode())
        ):
            raise SignatureError("hub.verify_token does not match")
        return query.get("hub.challenge", "")

    def verify(self, request: WebhookRequest) -> None:
        """``X-Hub-Signature-256: sha256=<HMAC-SHA256(app_secret, raw body)>``."""
        given = request.header("x-hub-signature-256")
        if not given.startswith("sha256="):
            raise SignatureError("missing header X-Hub-Signature-256")
        secret = self.config.credentials.get("app_secret", "").encode()
        expected = hmac.new(secret, request.body, hashlib.sha256).hexdigest()
        if not secret or not hmac.compare_digest(given[7:].lower(), expected):
            raise SignatureError("X-Hub-Signature-256 does not match")

    def parse(self, request: WebhookRequest) -> list[NormalizedEvent]:
        """Messages and statuses of every entry and change."""
        return parse_payload(self._payload(request))

    def dedupe_keys(self, request: WebhookRequest) -> list[str]:
        """``meta:<wamid>:<status or "message">`` for each event."""
        return dedupe_keys(self._payload(request))

    @staticmethod
    def _payload(request: WebhookRequest) -> Payload:
        """The body read once per request (verify, parse and dedupe share it)."""
        cached = request.parsed.get(PAYLOAD_KEY)
        if not isinstance(cached, Payload):
            request.parsed[PAYLOAD_KEY] = cached = read_payload(read_json(request))
        return cached
