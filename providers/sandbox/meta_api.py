"""Meta's Graph ``messages`` endpoint on loopback, and its signed webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from providers.sandbox.core import WEBHOOK_PATHS, Webhook, json_response, new_id
from providers.sandbox.personas import TINY_PNG, persona_for

if TYPE_CHECKING:
    from providers.sandbox.core import Sandbox

WINDOW_CLOSED = (
    "Message failed to send because more than 24 hours have passed since the customer last "
    "replied to this number."
)


ERROR_CODES_URL = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
#: Asynchronous failures (a ``failed`` status): failure → (code, title, details).
ASYNC_FAILURES = {
    "outside_window": (131047, "Re-engagement message", WINDOW_CLOSED),
    "invalid_number": (131026, "Message undeliverable", "Message Undeliverable."),
    "unsubscribed": (
        131050,
        "Unable to deliver the marketing message",
        "The user has stopped receiving marketing messages from this business.",
    ),
}


def graph_error(
    status: int,
    code: int,
    message: str,
    kind: str = "OAuthException",
    subcode: int | None = None,
    details: str | None = None,
) -> web.Response:
    """Graph API's ``{"error": {...}}`` answer, with the WhatsApp ``error_data``."""
    error: dict[str, Any] = {"message": message, "type": kind, "code": code}
    error["error_subcode"] = subcode if subcode is not None else 2494010 + code % 1000
    error["error_data"] = {"messaging_product": "whatsapp", "details": details or message}
    error["fbtrace_id"] = new_id("A", 22)
    headers = {"Retry-After": "60"} if status == 429 else None
    return json_response({"error": error}, status=status, headers=headers)


def unauthorized() -> web.Response:
    """The answer to a missing, malformed or revoked access token."""
    return graph_error(
        401, 190, "Invalid OAuth access token - Cannot parse access token", subcode=463
    )


class MetaEmulator:
    """One WhatsApp business number."""

    version = "v23.0"
    phone_number_id = "106540352242922"
    display_number = "33700000003"
    waba_id = "102290129340398"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.prefix = "/meta"
        self.read: list[str] = []
        #: media id → (content type, bytes, sha256 hex)
        self.media: dict[str, tuple[str, bytes, str]] = {}

    def routes(self, prefix: str) -> list[web.RouteDef]:
        """Messages, media and the phone number, under ``prefix``."""
        self.prefix = prefix
        return [
            web.get(prefix + "/whatsapp_business/attachments/", self.download),
            web.post(prefix + "/{version}/{number}/messages", self.messages),
            web.post(prefix + "/{version}/{number}/media", self.upload),
            web.get(prefix + "/{version}/{node}", self.node),
            web.delete(prefix + "/{version}/{node}", self.delete_media),
        ]

    def not_found(self, request: web.Request, status: int) -> web.Response:
        """Graph's answer for a path or object it does not have."""
        method = request.method.lower()
        return graph_error(
            400,
            100,
            f"Unsupported {method} request. Object with ID '{request.path.rsplit('/', 1)[-1]}' "
            "does not exist, cannot be loaded due to missing permissions, or does not support "
            "this operation.",
            "GraphMethodException",
            subcode=33,
        )

    def _authorized(self, request: web.Request) -> bool:
        token = self.sandbox.credentials["meta"]["access_token"]
        return request.headers.get("Authorization") == f"Bearer {token}"

    async def node(self, request: web.Request) -> web.Response:
        """``GET /{version}/{id}``: the phone number object, or a media's URL."""
        self.sandbox.log("meta", request, None)
        if not self._authorized(request):
            return unauthorized()
        node = request.match_info["node"]
        if node in self.media:
            return json_response(self._media_info(request, node))
        if node != self.phone_number_id:
            return self.not_found(request, 404)
        return json_response(
            {
                "id": node,
                "display_phone_number": self.display_number,
                "verified_name": "Agence Coccinelle",
            }
        )

    async def messages(self, request: web.Request) -> web.Response:
        """Send a message, or mark one read."""
        try:
            body = await request.json()
        except ValueError:
            body = None
        self.sandbox.log("meta", request, body)
        if not self._authorized(request):
            return unauthorized()
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            return graph_error(400, 100, "(#100) The parameter messaging_product is required.")
        if body.get("status") == "read":
            if not str(body.get("message_id", "")).startswith("wamid."):
                return graph_error(400, 131009, "(#131009) Parameter value is not valid")
            self.read.append(body["message_id"])
            return json_response({"success": True})
        to = str(body.get("to") or "")
        if not to:
            return graph_error(400, 100, "(#100) The parameter to is required.")
        failure = self.sandbox.take_failure("meta", "+" + to, "whatsapp")
        if failure == "timeout" and not await self.sandbox.timed_out():
            return graph_error(500, 131000, "Something went wrong", subcode=2494002)
        if failure == "unauthorized":
            return unauthorized()
        if failure == "rate_limit":
            return graph_error(
                429,
                130429,
                "(#130429) Rate limit hit",
                details="Cloud API message throughput has been reached.",
            )
        if failure == "server_error":
            return graph_error(500, 131000, "Something went wrong", subcode=2494002)
        if failure == "outside_window" and body.get("type") == "template":
            failure = None  # approved templates are how a business writes outside the window
        wamid = "wamid." + new_id("", 40)
        error = ASYNC_FAILURES.get(failure or "")
        for status in ["sent", "failed"] if error else ["sent", "delivered", "read"]:
            self.enqueue_status(
                wamid,
                to,
                status,
                error=error if status == "failed" else None,
                reference=body.get("biz_opaque_callback_data"),
                category="utility" if body.get("type") == "template" else "service",
            )
        persona = persona_for("+" + to)
        said = json.dumps(body.get("text") or body.get("template") or {}, sort_keys=True)
        if (
            persona is not None
            and failure is None
            and self.sandbox.replies.answers(persona, "whatsapp", said)
        ):
            if persona.calls:
                self.sandbox.vapi.inbound_call(persona.phone)
            if persona.photo:
                self.enqueue_inbound_media(persona.phone, persona.name, persona.reply or "")
            elif persona.reply:
                self.enqueue_inbound(
                    persona.phone, persona.name, persona.reply, reply_to=wamid, button=body
                )
        return json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": wamid}],
            }
        )

    # ---------------------------------------------------------------- webhooks

    def _value(self) -> dict[str, Any]:
        return {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": self.display_number,
                "phone_number_id": self.phone_number_id,
            },
        }

    def _enqueue(self, value: dict[str, Any]) -> None:
        payload = {
            "object": "whatsapp_business_account",
            "entry": [{"id": self.waba_id, "changes": [{"value": value, "field": "messages"}]}],
        }
        body = json.dumps(payload).encode()
        secret = self.sandbox.credentials["meta"]["app_secret"].encode()
        headers = {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest(),
        }
        url = self.sandbox.relay(WEBHOOK_PATHS["meta"], "meta") or ""
        self.sandbox.enqueue(Webhook("meta", "webhook", url, headers, body))

    def enqueue_status(
        self,
        wamid: str,
        to: str,
        status: str,
        error: tuple[int, str, str] | None = None,
        reference: str | None = None,
        category: str = "service",
    ) -> None:
        """A delivery status webhook."""
        item: dict[str, Any] = {
            "id": wamid,
            "status": status,
            "timestamp": str(int(time.time())),
            "recipient_id": to,
        }
        if reference:
            item["biz_opaque_callback_data"] = reference
        if not error:
            item["conversation"] = {
                "id": hashlib.md5(to.encode()).hexdigest()[:30],  # one conversation per user
                "origin": {"type": category},
            }
            if status == "sent":  # the conversation's expiry comes with its first status
                item["conversation"]["expiration_timestamp"] = str(int(time.time()) + 86400)
            item["pricing"] = {"billable": True, "pricing_model": "PMP", "category": category}
        if error:
            code, title, details = error
            item["errors"] = [
                {
                    "code": code,
                    "title": title,
                    "message": title,
                    "error_data": {"details": details},
                    "href": ERROR_CODES_URL,
                }
            ]
        self._enqueue({**self._value(), "statuses": [item]})

    def enqueue_inbound(
        self,
        sender: str,
        name: str,
        text: str,
        reply_to: str | None = None,
        button: dict[str, Any] | None = None,
    ) -> str:
        """A prospect's message (a button reply when we sent buttons)."""
        wamid = "wamid." + new_id("", 40)
        wa_id = sender.lstrip("+")
        message: dict[str, Any] = {"from": wa_id, "id": wamid, "timestamp": str(int(time.time()))}
        buttons = ((button or {}).get("interactive") or {}).get("action", {}).get("buttons") or []
        if buttons:
            chosen = buttons[0]["reply"]
            message.update(
                type="interactive", interactive={"type": "button_reply", "button_reply": chosen}
            )
        else:
            message.update(type="text", text={"body": text})
        if reply_to:
            message["context"] = {"from": self.display_number, "id": reply_to}
        self._enqueue(
            {
                **self._value(),
                "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                "messages": [message],
            }
        )
        return wamid

    # ---------------------------------------------------------------- media

    def store_media(self, kind: str, content: bytes) -> str:
        """Keep a media file as Meta does (uploaded, or received from a user); its id."""
        media_id = str(int(new_id("", 14), 16))[:16]
        self.media[media_id] = (kind, content, hashlib.sha256(content).hexdigest())
        return media_id

    def _media_info(self, request: web.Request, media_id: str) -> dict[str, Any]:
        kind, content, digest = self.media[media_id]
        root = str(request.url.origin()) + self.prefix
        return {
            "messaging_product": "whatsapp",
            "url": f"{root}/whatsapp_business/attachments/?mid={media_id}&ext={int(time.time())}",
            "mime_type": kind,
            "sha256": digest,
            "file_size": str(len(content)),
            "id": media_id,
        }

    async def upload(self, request: web.Request) -> web.Response:
        """``POST /{version}/{phone-number-id}/media`` (multipart ``file``, ``type``)."""
        if not self._authorized(request):
            self.sandbox.log("meta", request, None)
            return unauthorized()
        fields: dict[str, Any] = {}
        content, kind = None, None
        if request.content_type.startswith("multipart/"):
            for name, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    content = value.file.read()
                    kind = value.content_type
                    fields[name] = {"filename": value.filename, "size": len(content)}
                else:
                    fields[name] = value
        self.sandbox.log("meta", request, fields)
        if fields.get("messaging_product") != "whatsapp":
            return graph_error(400, 100, "(#100) The parameter messaging_product is required.")
        if content is None:
            return graph_error(400, 100, "(#100) The parameter file is required.")
        return json_response({"id": self.store_media(fields.get("type") or kind or "", content)})

    async def delete_media(self, request: web.Request) -> web.Response:
        """``DELETE /{version}/{media-id}``."""
        self.sandbox.log("meta", request, None)
        if not self._authorized(request):
            return unauthorized()
        if self.media.pop(request.match_info["node"], None) is None:
            return self.not_found(request, 404)
        return json_response({"success": True})

    async def download(self, request: web.Request) -> web.Response:
        """The media URL: the bytes, only with the access token (as Meta's lookaside)."""
        self.sandbox.log("meta", request, None)
        if not self._authorized(request):
            return unauthorized()
        found = self.media.get(request.query.get("mid", ""))
        if found is None:
            return self.not_found(request, 404)
        return web.Response(body=found[1], content_type=found[0])

    def enqueue_inbound_media(
        self, sender: str, name: str, caption: str, kind: str = "image/png", content: bytes = b""
    ) -> str:
        """A prospect's photo: an ``image`` message whose id the API serves (``GET /{id}``)."""
        media_id = self.store_media(kind, content or TINY_PNG)
        _, _, digest = self.media[media_id]
        wamid = "wamid." + new_id("", 40)
        wa_id = sender.lstrip("+")
        image: dict[str, Any] = {"mime_type": kind, "sha256": digest, "id": media_id}
        if caption:
            image["caption"] = caption
        message = {
            "from": wa_id,
            "id": wamid,
            "timestamp": str(int(time.time())),
            "type": "image",
            "image": image,
        }
        self._enqueue(
            {
                **self._value(),
                "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                "messages": [message],
            }
        )
        return wamid
