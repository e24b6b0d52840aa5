"""Meta's Graph ``messages`` endpoint on loopback, and its signed webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

from providers.sandbox.core import WEBHOOK_PATHS, Webhook, json_response, new_id
from providers.sandbox.personas import persona_for

if TYPE_CHECKING:
    from providers.sandbox.core import Sandbox

WINDOW_CLOSED = (
    "Message failed to send because more than 24 hours have passed since the customer last "
    "replied to this number."
)


def graph_error(status: int, code: int, message: str, kind: str = "OAuthException") -> web.Response:
    """Graph API's ``{"error": {...}}`` answer."""
    body = {
        "error": {"message": message, "type": kind, "code": code, "fbtrace_id": new_id("A", 22)}
    }
    return json_response(body, status=status)


class MetaEmulator:
    """One WhatsApp business number."""

    version = "v23.0"
    phone_number_id = "106540352242922"
    display_number = "33700000003"
    waba_id = "102290129340398"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.read: list[str] = []

    def routes(self, prefix: str) -> list[web.RouteDef]:
        """``/{version}/{phone-number-id}[/messages]`` under ``prefix``."""
        return [
            web.post(prefix + "/{version}/{number}/messages", self.messages),
            web.get(prefix + "/{version}/{number}", self.number),
        ]

    def _authorized(self, request: web.Request) -> bool:
        token = self.sandbox.credentials["meta"]["access_token"]
        return request.headers.get("Authorization") == f"Bearer {token}"

    async def number(self, request: web.Request) -> web.Response:
        """The phone number object (connection test)."""
        self.sandbox.log("meta", request, None)
        if not self._authorized(request):
            return graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        return json_response(
            {
                "id": request.match_info["number"],
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
            return graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
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
        failure = self.sandbox.take_failure("meta", "+" + to)
        if failure == "outside_window" and body.get("type") == "template":
            failure = None  # an approved template is what WhatsApp accepts outside the window
        if failure == "timeout":
            await self.sandbox.hang()
        if failure == "rate_limit":
            return graph_error(429, 130429, "(#130429) Rate limit hit", "OAuthException")
        if failure == "server_error":
            return graph_error(500, 131000, "Something went wrong")
        wamid = "wamid." + new_id("", 40)
        statuses = (
            ["sent", "failed"] if failure == "outside_window" else ["sent", "delivered", "read"]
        )
        for status in statuses:
            self.enqueue_status(
                wamid,
                to,
                status,
                failed=status == "failed",
                reference=body.get("biz_opaque_callback_data"),
            )
        persona = persona_for("+" + to)
        said = json.dumps(body.get("text") or body.get("template") or {}, sort_keys=True)
        if persona and failure is None and self.sandbox.replies.answers(persona, "whatsapp", said):
            if persona.calls:
                self.sandbox.vapi.inbound_call(persona.phone)
            if persona.reply:
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
        self.sandbox.enqueue(
            Webhook(
                "meta", "webhook", self.sandbox.relay(WEBHOOK_PATHS["meta"]) or "", headers, body
            )
        )

    def enqueue_status(
        self, wamid: str, to: str, status: str, failed: bool = False, reference: str | None = None
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
        if failed:
            item["errors"] = [
                {
                    "code": 131047,
                    "title": "Re-engagement message",
                    "message": "Re-engagement message",
                    "error_data": {"details": WINDOW_CLOSED},
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
