"""VAPI's ``/call`` on loopback, and its server messages (status updates, end-of-call report)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from core.storage.types import utcnow
from providers.sandbox.core import WEBHOOK_PATHS, Webhook, json_response
from providers.sandbox.personas import persona_for

if TYPE_CHECKING:
    from providers.sandbox.core import Sandbox


def nest_error(status: int, message: str, error: str) -> web.Response:
    """VAPI's (NestJS) error body."""
    return json_response({"message": message, "error": error, "statusCode": status}, status=status)


class VapiEmulator:
    """Outbound calls that ring, talk and end with a report."""

    assistant_id = "asst-sandbox-0001"
    phone_number_id = "pn-sandbox-0001"
    org_id = "org-sandbox-0001"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.calls: dict[str, dict[str, Any]] = {}

    def routes(self, prefix: str) -> list[web.RouteDef]:
        """``POST /call``, ``GET /call``, ``GET /call/{id}`` under ``prefix``."""
        return [
            web.post(prefix + "/call", self.create),
            web.get(prefix + "/call", self.list),
            web.get(prefix + "/call/{id}", self.fetch),
        ]

    def _authorized(self, request: web.Request) -> bool:
        return (
            request.headers.get("Authorization")
            == f"Bearer {self.sandbox.credentials['vapi']['api_key']}"
        )

    async def create(self, request: web.Request) -> web.Response:
        """Start a call; it ends at once (the report comes at the next flush)."""
        try:
            body = await request.json()
        except ValueError:
            body = None
        self.sandbox.log("vapi", request, body)
        if not self._authorized(request):
            return nest_error(
                401,
                "Invalid Key. Hot tip, you may be using the private key instead of the public key.",
                "Unauthorized",
            )
        number = ((body or {}).get("customer") or {}).get("number")
        if not number:
            return nest_error(
                400,
                "customer.number must be a valid phone number in the E.164 format",
                "Bad Request",
            )
        failure = self.sandbox.take_failure("vapi", number)
        if failure == "timeout":
            await self.sandbox.hang()
        if failure == "rate_limit":
            return nest_error(429, "Too Many Requests", "Too Many Requests")
        if failure == "server_error":
            return nest_error(500, "Internal server error", "Internal Server Error")
        now = utcnow()
        call = {
            "id": str(uuid.uuid4()),
            "orgId": self.org_id,
            "type": "outboundPhoneCall",
            "status": "queued",
            "createdAt": now.isoformat().replace("+00:00", "Z"),
            "updatedAt": now.isoformat().replace("+00:00", "Z"),
            "assistantId": body.get("assistantId"),
            "phoneNumberId": body.get("phoneNumberId"),
            "customer": body["customer"],
        }
        self.calls[call["id"]] = call
        self.play_call(call)
        return json_response(call, status=201)

    async def fetch(self, request: web.Request) -> web.Response:
        """One call."""
        self.sandbox.log("vapi", request, None)
        if not self._authorized(request):
            return nest_error(401, "Invalid Key.", "Unauthorized")
        call = self.calls.get(request.match_info["id"])
        return json_response(call) if call else nest_error(404, "Call not found", "Not Found")

    async def list(self, request: web.Request) -> web.Response:
        """Calls, newest first."""
        self.sandbox.log("vapi", request, None)
        if not self._authorized(request):
            return nest_error(401, "Invalid Key.", "Unauthorized")
        return json_response(
            list(reversed(self.calls.values()))[: int(request.query.get("limit", "100"))]
        )

    def _post(self, message: dict[str, Any]) -> None:
        headers = {
            "Content-Type": "application/json",
            "X-Vapi-Secret": self.sandbox.credentials["vapi"]["webhook_secret"],
        }
        url = self.sandbox.relay(WEBHOOK_PATHS["vapi"]) or ""
        self.sandbox.enqueue(
            Webhook(
                "vapi", message["type"], url, headers, json.dumps({"message": message}).encode()
            )
        )

    def play_call(self, call: dict[str, Any], duration: float = 42.0) -> None:
        """Queue ringing → in-progress → ended, then the end-of-call report; update the call."""
        started = utcnow()
        ended = started + timedelta(seconds=duration)
        persona = persona_for(call["customer"].get("number"))
        name = persona.name if persona else "Prospect"
        for status in ("ringing", "in-progress", "ended"):
            extra = {"endedReason": "customer-ended-call"} if status == "ended" else {}
            self._post(
                {
                    "type": "status-update",
                    "status": status,
                    "call": {"id": call["id"], "type": call["type"]},
                    "customer": call["customer"],
                    "timestamp": int(started.timestamp() * 1000),
                    **extra,
                }
            )
        transcript = (
            f"AI: Bonjour {name}, ici l'agence Coccinelle.\n"
            "User: Bonjour, oui je confirme le rendez-vous de jeudi.\n"
            "AI: Parfait, à jeudi !"
        )
        call.update(
            status="ended",
            startedAt=started.isoformat().replace("+00:00", "Z"),
            endedAt=ended.isoformat().replace("+00:00", "Z"),
            endedReason="customer-ended-call",
            cost=0.12,
        )
        self._post(
            {
                "type": "end-of-call-report",
                "call": {"id": call["id"], "type": call["type"]},
                "customer": call["customer"],
                "endedReason": "customer-ended-call",
                "startedAt": call["startedAt"],
                "endedAt": call["endedAt"],
                "durationSeconds": duration,
                "cost": 0.12,
                "artifact": {
                    "transcript": transcript,
                    "recordingUrl": f"https://storage.vapi.test/{call['id']}-mono.wav",
                    "messages": [],
                },
                "analysis": {
                    "summary": f"{name} confirme le rendez-vous de jeudi.",
                    "successEvaluation": "true",
                },
                "timestamp": int(ended.timestamp() * 1000),
            }
        )

    def inbound_call(self, number: str) -> str:
        """A prospect calls in; returns the call id."""
        now = utcnow().isoformat().replace("+00:00", "Z")
        call = {
            "id": str(uuid.uuid4()),
            "orgId": self.org_id,
            "type": "inboundPhoneCall",
            "status": "in-progress",
            "createdAt": now,
            "updatedAt": now,
            "customer": {"number": number},
            "phoneNumberId": self.phone_number_id,
        }
        self.calls[call["id"]] = call
        self.play_call(call)
        return call["id"]
